"""The case page's forms: a refused or invalid submission comes back with every field as
typed and the message next to its field (aria-describedby) and in a summary at the top;
what cannot be undone (withdrawing a case, closing a hearing with answers missing) is
confirmed on a step that says what will happen; each action has a form of its own fields."""

import re

from web_fixtures import as_role, days, make_case, page_csrf

from cases import queries, services
from cases.db import read_session, write_session


def _field(html: str, form: str, name: str) -> str:
    """The <input>/<textarea>/<fieldset> of a form's field, as rendered."""
    found = re.search(rf'<(input|textarea|fieldset|select) id="{form}-{name}"[^>]*>', html)
    assert found, (form, name)
    return found.group(0)


def _status(engine, number: str) -> str:
    with read_session(engine) as session:
        return queries.get_case(session, number).status


def test_a_wrong_deadline_date_keeps_every_field_and_says_so_at_the_field(web_app,
                                                                         web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    response = client.post(f"/sager/{number}/frist", data={
        "csrf_token": page_csrf(client), "due_date": "31-02-2031", "kind": "external",
        "description": "Byrådet skal have svar", "legal_basis": "Servicelovens § 17"})
    assert response.status_code == 400
    html = response.text
    due = _field(html, "frist", "due_date")
    assert 'value="31-02-2031"' in due and 'aria-describedby="frist-due_date-fejl"' in due
    assert 'aria-invalid="true"' in due
    assert re.search(r'id="frist-due_date-fejl">[^<]*dato', html)
    assert 'value="Byrådet skal have svar"' in _field(html, "frist", "description")
    assert 'value="Servicelovens § 17"' in _field(html, "frist", "legal_basis")
    assert '<option value="external" selected>' in html.split('id="frist-kind"')[1]
    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    assert 'href="#frist-due_date"' in summary
    with read_session(web_engine) as session:
        assert queries.deadlines(session, queries.get_case(session, number).id) == []


def test_a_refused_decision_keeps_its_text(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    text = "Udvalget anbefaler indstillingen.\nMed en bemærkning om økonomien."
    response = client.post(f"/sager/{number}/beslutning", data={
        "csrf_token": page_csrf(client), "version": "2", "body": "SU", "wording": "anbefales",
        "meeting_date": "32-13-2031", "item_number": "7", "decision_text": text,
        "minority": "Et mindretal (Ø) stemte imod."})
    assert response.status_code == 400
    html = response.text
    assert f">{text}</textarea>" in html
    assert ">Et mindretal (Ø) stemte imod.</textarea>" in html
    assert 'value="7"' in _field(html, "beslutning", "item_number")
    assert 'aria-describedby="beslutning-meeting_date-fejl"' in \
        _field(html, "beslutning", "meeting_date")
    assert _status(web_engine, number) == "committee"


def test_a_hearing_with_a_wrong_deadline_keeps_its_parties(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    response = client.post(f"/sager/{number}/hoering", data={
        "csrf_token": page_csrf(client), "title": "Høring om kvalitetsstandarder",
        "parties": ["HR", "SR"], "other_parties": "Ældresagen <post@aeldresagen.invalid>",
        "opened_on": days(0).strftime("%d-%m-%Y"), "deadline": "i morgen",
        "blocking": "on"})
    assert response.status_code == 400
    html = response.text
    parties = html.split('id="hoering-parties"')[1].split("</fieldset>")[0]
    assert 'value="HR" checked' in parties and 'value="SR" checked' in parties
    assert 'value="PR" checked' not in parties
    assert "Ældresagen &lt;post@aeldresagen.invalid&gt;</textarea>" in html
    assert 'aria-describedby="hoering-deadline-fejl"' in _field(html, "hoering", "deadline")


def test_withdrawing_asks_first_and_says_what_will_happen(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    form = {"csrf_token": page_csrf(client), "trigger": "withdraw", "version": "2",
            "reason": "Forvaltningen har fundet en anden løsning"}
    asked = client.post(f"/sager/{number}/handling", data=form)
    assert asked.status_code == 200 and _status(web_engine, number) == "committee"
    assert "kan ikke genoptages" in asked.text
    assert "Socialudvalget" in asked.text and "Forvaltningen har fundet" in asked.text
    assert 'name="confirmed" value="ja"' in asked.text
    done = client.post(f"/sager/{number}/handling", data={**form, "confirmed": "ja"})
    assert done.status_code == 303 and _status(web_engine, number) == "withdrawn"


def test_withdrawing_without_a_reason_is_refused_at_the_reason(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    response = client.post(f"/sager/{number}/handling", data={
        "csrf_token": page_csrf(client), "trigger": "withdraw", "version": "2",
        "reason": ""})
    assert response.status_code == 400
    assert 'aria-describedby="handling-withdraw-reason-fejl"' in \
        _field(response.text, "handling-withdraw", "reason")
    assert "<details id=\"handling-withdraw\" open>" in response.text


def test_closing_a_hearing_with_answers_missing_asks_first(web_app, web_engine):
    number = make_case(web_engine)
    with write_session(web_engine) as session:
        hearing = services.add_hearing(session, number, title="Høring", parties=["HR", "SR"],
                                       deadline=days(20), opened_on=days(0), actor="test")
        services.record_hearing_response(session, hearing.id, party="Handicaprådet",
                                         received_on=days(0), text="Ingen bemærkninger.",
                                         actor="test")
    client = as_role(web_app, "secretariat")
    asked = client.post(f"/hoeringer/{hearing.id}/afslut",
                        data={"csrf_token": page_csrf(client)})
    assert asked.status_code == 200
    assert "Der mangler svar fra Seniorrådet" in asked.text
    with read_session(web_engine) as session:
        assert queries.hearings(session, queries.get_case(session, number).id)[0] \
            .closed_on is None
    done = client.post(f"/hoeringer/{hearing.id}/afslut",
                       data={"csrf_token": page_csrf(client), "confirmed": "ja"})
    assert done.status_code == 303
    with read_session(web_engine) as session:
        assert queries.hearings(session, queries.get_case(session, number).id)[0] \
            .closed_on is not None


def test_each_action_has_its_own_form_and_nothing_is_preselected(web_app, web_engine):
    number = make_case(web_engine)
    html = as_role(web_app, "secretariat").get(f"/sager/{number}").text
    others = html.split('id="handlinger"')[1].split("</section>")[0]
    assert "<select" not in others  # no action chosen for the user
    withdraw = others.split('id="handling-withdraw"')[1].split("</form>")[0]
    assert 'name="reason"' in withdraw and 'name="replaced_by"' not in withdraw
    assert 'name="bodies"' not in withdraw
    # The decision is offered for the bodies the case awaits only.
    bodies = html.split('id="beslutning-body"')[1].split("</select>")[0]
    assert "Socialudvalget" in bodies and "Klima- og Miljøudvalget" not in bodies
    # The case leads: its text and deadlines come before the forms.
    assert html.index('id="sagen"') < html.index('id="frister"') < html.index('id="beslutning"')


def test_a_member_lands_on_the_next_meetings_of_their_own_bodies(web_app, web_engine):
    from meetings import services as meetings

    with write_session(web_engine) as session:
        meetings.create_meeting(session, body="SU", day=days(9))
        meetings.create_meeting(session, body="KMU", day=days(10))
    client = as_role(web_app, "member")  # a member of Socialudvalget
    landing = client.get("/", follow_redirects=True).text  # the meetings page
    coming = landing.split('id="mine-moeder"')[1].split("</section>")[0]
    assert "Socialudvalget " + days(9).strftime("%d-%m-%Y") in coming
    assert "Klima- og Miljøudvalget" not in coming
    assert landing.index('id="mine-moeder"') < landing.index('class="filters"')
