"""The meeting page's decision form for what some decisions need: the hearing of "Godkendt
og sendes i høring" (the seed's item 5), the replacing case of "Ny sag forelægges" (item 8),
and a decision per proposal of the Indstilling (items 7 and 12); the same through
`sagsgang meeting decide`."""

import re
from itertools import count

import pytest
from click.testing import CliRunner
from servers import database_dump
from web_fixtures import (
    CENTRE,
    anonymous,
    as_role,
    bearer,
    days,
    new_number,
    page_csrf,
)

from cases import actions as case_actions
from cases import queries
from cases import services as case_services
from cases.db import make_engine, read_session, write_session
from meetings import queries as meeting_queries
from meetings.services import create_meeting, place_case, publish_agenda

_minutes = count(1)  # one SU meeting today per test: each at its own time


def registered_case(engine, *, title="Samlet udsattestrategi", deciding_body="SU",
                    committees=("SU",), proposals=("at strategien godkendes",),
                    submit=True) -> str:
    number = new_number("D")
    with write_session(engine) as session:
        case_services.create_case(session, {
            "number": number, "title": title, "centre": CENTRE,
            "deciding_body": deciding_body, "committees": list(committees),
            "summary": "Et sammendrag.", "proposals": list(proposals)}, actor="test")
        if submit:
            case_actions.submit(session, number, actor="test")
    return number


def held_meeting(engine, number: str, body: str = "SU") -> tuple[int, int]:
    """A meeting of the body today with the case on its published agenda: (meeting, item)."""
    with write_session(engine) as session:
        minute = next(_minutes)
        meeting = create_meeting(session, body=body, day=days(0),
                                 at=f"{minute // 60:02d}:{minute % 60:02d}")
        item = place_case(session, meeting.id, number, late_reason="Hastesag")
        publish_agenda(session, meeting.id, actor="test", late_reason="Hastesag")
        return meeting.id, item.id


def decide(client, meeting_id: int, item_id: int, **fields):
    return client.post(f"/punkter/{item_id}/beslutning",
                       data={"csrf_token": page_csrf(client, f"/moeder/{meeting_id}"), **fields},
                       headers={"referer": f"http://testserver/moeder/{meeting_id}"})


def decision_form(html: str, item_id: int) -> str:
    form = html[html.index(f'action="/punkter/{item_id}/beslutning"'):]
    return form[:form.index("</form>")]


def test_it_opens_the_hearing_when_the_committee_approves_a_draft_for_hearing(web_app, web_engine):
    number = registered_case(web_engine)
    meeting_id, item_id = held_meeting(web_engine, number)
    client = as_role(web_app, "secretariat")
    form = decision_form(client.get(f"/moeder/{meeting_id}").text, item_id)
    assert "<legend>Høring (kun ved «Godkendt og sendes i høring»)</legend>" in form
    assert 'name="parties" value="HR"> Handicaprådet' in form
    assert 'name="hearing_deadline" placeholder="dd-mm-åååå"' in form

    title = "Udsattestrategien i høring <script>alert(1)</script>"
    deadline = days(42)
    response = decide(client, meeting_id, item_id, wording="godkendt_til_hoering",
                      decision_text="Godkendt med de faldne bemærkninger.",
                      hearing_title=title, parties=["HR", "PR"],
                      other_parties="Udsatterådet\nKirkens Korshær <kk@example.invalid>",
                      hearing_deadline=f"{deadline:%d-%m-%Y}")
    assert response.status_code == 303
    with read_session(web_engine) as session:
        case = queries.get_case(session, number)
        [hearing] = queries.hearings(session, case.id)
        parties = [(p.body_code, p.name, p.email)
                   for p in queries.hearing_parties(session, hearing.id)]
        treatment = queries.decision_history(session, case.id)[-1]
    assert case.status == "hearing"
    assert (hearing.title, hearing.deadline, hearing.opened_on, hearing.blocking) == (
        title, deadline, days(0), True)
    assert parties == [("HR", "Handicaprådet", ""), ("PR", "Psykiatrirådet", ""),
                       (None, "Udsatterådet", ""),
                       (None, "Kirkens Korshær", "kk@example.invalid")]
    assert (treatment.wording, treatment.body_code, treatment.meeting_date) == (
        "godkendt_til_hoering", "SU", days(0))
    html = client.get(f"/moeder/{meeting_id}").text
    assert "Beslutningen er registreret." in html
    assert "Godkendt og sendes i høring</strong> – Godkendt med de faldne bemærkninger." in html
    case_page = client.get(f"/sager/{number}").text
    assert "Udsattestrategien i høring &lt;script&gt;alert(1)&lt;/script&gt;" in case_page
    assert "<script>alert(1)" not in case_page


def test_it_links_the_replacing_case_when_a_new_case_is_to_be_presented(web_app, web_engine):
    old = registered_case(web_engine, title="UUC Maglemosen flytter", deciding_body="KB",
                          committees=("SU", "BSU"))
    new = registered_case(web_engine, title="UUC Maglemosen, ny sag", deciding_body="KB",
                          committees=("SU", "BSU"), submit=False)
    meeting_id, item_id = held_meeting(web_engine, old)
    client = as_role(web_app, "secretariat")
    form = decision_form(client.get(f"/moeder/{meeting_id}").text, item_id)
    assert "<legend>Ny sag (kun ved «Ny sag forelægges»)</legend>" in form
    response = decide(client, meeting_id, item_id, wording="ny_sag", replaced_by=new,
                      decision_text="Der forelægges en ny sag for BSU og SU i november.")
    assert response.status_code == 303
    with read_session(web_engine) as session:
        old_case, new_case = queries.get_case(session, old), queries.get_case(session, new)
        links = [(link.kind, other.number) for link, other in queries.links(session,
                                                                             new_case.id)]
        treatment = queries.decision_history(session, old_case.id)[-1]
    assert old_case.status == "replaced" and old_case.replaced_by_id == new_case.id
    assert links == [("replaces", old)]
    assert treatment.wording == "ny_sag"
    assert f'<a href="/sager/{old}">{old}</a>' in client.get(f"/sager/{new}").text


def test_it_records_a_decision_per_proposal_of_the_indstilling(web_app, web_engine, api_tokens):
    number = registered_case(web_engine, title="Studietur 2023", proposals=(
        "at udvalget beslutter datoerne", "at udvalget drøfter temaerne",
        "at udvalget godkender budgettet"))
    meeting_id, item_id = held_meeting(web_engine, number)
    client = as_role(web_app, "secretariat")
    form = decision_form(client.get(f"/moeder/{meeting_id}").text, item_id)
    fields = re.findall(r'<label>(\d)\. ([^<]+) <input name="(proposal_\d)" value="">', form)
    assert fields == [("1", "at udvalget beslutter datoerne", "proposal_1"),
                      ("2", "at udvalget drøfter temaerne", "proposal_2"),
                      ("3", "at udvalget godkender budgettet", "proposal_3")]
    response = decide(client, meeting_id, item_id, wording="godkendt",
                      proposal_1="Godkendt: 10.-12. maj 2023.", proposal_2="",
                      proposal_3="Godkendt med den ændring at <b>budgettet</b> halveres.")
    assert response.status_code == 303
    expected = [{"number": 1, "text": "Godkendt: 10.-12. maj 2023."},
                {"number": 3, "text": "Godkendt med den ændring at <b>budgettet</b> halveres."}]
    with read_session(web_engine) as session:
        case = queries.get_case(session, number)
        treatment = queries.decision_history(session, case.id)[-1]
        item = meeting_queries.get_item(session, item_id)
    assert treatment.proposal_decisions == expected == item.proposal_decisions
    assert case.status == "decided"
    html = client.get(f"/moeder/{meeting_id}").text
    assert ("Indstillingens punkt 3: Godkendt med den ændring at &lt;b&gt;budgettet&lt;/b&gt; "
            "halveres.") in html
    public = anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}").text
    assert "Godkendt: 10.-12. maj 2023." in public
    # The case's Beslutningshistorik (views.case.history, which the case page reads too).
    history = anonymous(web_app).get(f"/api/cases/{number}/history",
                                     headers=bearer(api_tokens["secretariat"])).json()
    assert history[-1]["proposals"] == expected
    case_page = client.get(f"/sager/{number}").text.split("Beslutningshistorik")[1]
    assert ('<li value="3">Godkendt med den ændring at &lt;b&gt;budgettet&lt;/b&gt; '
            'halveres.</li>') in case_page
    assert '<li value="1">Godkendt: 10.-12. maj 2023.</li>' in case_page


BAD_INPUT = {
    "hearing without a deadline": (
        "godkendt_til_hoering", {"hearing_title": "Høring", "parties": ["HR"]},
        "Angiv høringsfristen (dd-mm-åååå) for at sende sagen i høring."),
    "hearing with a malformed deadline": (
        "godkendt_til_hoering", {"hearing_title": "Høring", "parties": ["HR"],
                                 "hearing_deadline": "31-02-2030"},
        "Ugyldig dato: &#39;31-02-2030&#39;. Skriv datoen som dd-mm-åååå"),
    "hearing with no field at all": (
        "godkendt_til_hoering", {},
        "Angiv høringens titel, parter og høringsfrist for at sende sagen i høring."),
    "hearing without parties": (
        "godkendt_til_hoering", {"hearing_title": "Høring", "hearing_deadline": "01-01-2099"},
        "Angiv mindst én høringspart."),
    "hearing fields with another wording": (
        "godkendt", {"hearing_title": "Høring", "hearing_deadline": "01-01-2099"},
        "Høringens felter udfyldes kun, når beslutningen er «Godkendt og sendes i høring»."),
    "an unknown replacing case": (
        "ny_sag", {"replaced_by": "FINDES-IKKE-1"}, "Sagen &#39;FINDES-IKKE-1&#39; findes ikke."),
    "a new case without its number": (
        "ny_sag", {}, "Angiv sagsnummeret på den nye sag, der erstatter denne."),
    "a replacing case with another wording": (
        "udsat", {"replaced_by": "FINDES-IKKE-1"},
        "Den nye sags nummer angives kun, når beslutningen er «Ny sag forelægges»."),
    "a decision on a proposal the case does not have": (
        "godkendt", {"proposal_7": "Godkendt"}, "Sagens indstilling har intet punkt 7."),
}


@pytest.mark.parametrize("wording, fields, message", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_it_refuses_bad_decision_input_with_a_danish_message_and_writes_nothing(
        web_app, web_engine, wording, fields, message):
    number = registered_case(web_engine)
    meeting_id, item_id = held_meeting(web_engine, number)
    client = as_role(web_app, "secretariat")
    before = database_dump(web_engine)
    response = decide(client, meeting_id, item_id, wording=wording, **fields)
    assert response.status_code == 303
    assert database_dump(web_engine) == before
    html = client.get(f"/moeder/{meeting_id}").text
    assert message in html
    assert f'action="/punkter/{item_id}/beslutning"' in html  # still undecided


def test_it_refuses_a_decision_to_other_roles_and_without_the_csrf_token(web_app, web_engine):
    number = registered_case(web_engine)
    meeting_id, item_id = held_meeting(web_engine, number)
    secretariat = as_role(web_app, "secretariat")
    fields = {"wording": "godkendt_til_hoering", "hearing_title": "Høring",
              "parties": ["HR"], "hearing_deadline": f"{days(30):%d-%m-%Y}"}
    before = database_dump(web_engine)
    refused = [secretariat.post(f"/punkter/{item_id}/beslutning",
                                data={"csrf_token": "x" * 43, **fields}),
               secretariat.post(f"/punkter/{item_id}/beslutning", data=fields)]
    refused += [decide(as_role(web_app, role), meeting_id, item_id, **fields)
                for role in ("member", "manager", "case_owner")]
    assert [r.status_code for r in refused] == [403] * 5
    assert database_dump(web_engine) == before
    html = as_role(web_app, "member").get(f"/moeder/{meeting_id}").text
    assert "Registrér beslutning" not in html and 'name="hearing_title"' not in html


# -- the same through `sagsgang meeting decide` ------------------------------------------------

@pytest.fixture
def cli_engine(any_db_url, monkeypatch):
    """An engine on a migrated database (SQLite and PostgreSQL) the CLI writes to as well."""
    monkeypatch.setenv("DATABASE_URL", any_db_url)
    engine = make_engine(any_db_url)
    yield engine
    engine.dispose()


def run(*args):
    from cli.main import cli

    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_it_records_hearing_replacement_and_proposal_decisions_from_the_command_line(
        cli_engine):
    hearing_case = registered_case(cli_engine)
    proposals_case = registered_case(cli_engine, title="Klimapolitik 2023-2050", proposals=(
        "at udvalget afgiver bemærkninger", "at målet er 85 %"))
    old = registered_case(cli_engine, title="UUC Maglemosen flytter")
    new = registered_case(cli_engine, title="UUC Maglemosen, ny sag", submit=False)
    with write_session(cli_engine) as session:
        meeting = create_meeting(session, body="SU", day=days(0), at="00:05")
        for number in (hearing_case, proposals_case, old):
            place_case(session, meeting.id, number, late_reason="Hastesag")
        publish_agenda(session, meeting.id, actor="test", late_reason="Hastesag")
    ref = f"SU:{days(0):%d-%m-%Y}"
    deadline = days(28)

    before = database_dump(cli_engine)
    refused = [run("meeting", "decide", ref, 1, "--decision", "Godkendt og sendes i høring",
                   "--hearing-title", "Høring", "--hearing-party", "HR"),
               run("meeting", "decide", ref, 3, "--decision", "Ny sag forelægges",
                   "--replaced-by", "FINDES-IKKE-2"),
               run("meeting", "decide", ref, 2, "--decision", "Godkendt",
                   "--hearing-title", "Høring", "--hearing-deadline", "01-01-2099")]
    assert [r.exit_code for r in refused] == [1, 1, 1]
    assert "Angiv høringsfristen med --hearing-deadline" in refused[0].output
    assert "Sagen 'FINDES-IKKE-2' findes ikke." in refused[1].output
    assert "udfyldes kun, når beslutningen er «Godkendt og sendes i høring»" \
        in refused[2].output
    assert database_dump(cli_engine) == before

    results = [
        run("meeting", "decide", ref, 1, "--decision", "Godkendt og sendes i høring",
            "--hearing-title", "Udsattestrategien", "--hearing-party", "HR",
            "--hearing-party", "Udsatterådet", "--hearing-deadline", f"{deadline:%d-%m-%Y}"),
        run("meeting", "decide", ref, 2, "--decision", "Taget til efterretning",
            "--proposal-decision", "1=Bemærkningerne sendes videre.",
            "--proposal-decision", "2=Et mindretal foreslår 87 %."),
        run("meeting", "decide", ref, 3, "--decision", "Ny sag forelægges",
            "--replaced-by", new)]
    assert [r.exit_code for r in results] == [0, 0, 0], [r.output for r in results]
    with read_session(cli_engine) as session:
        case = queries.get_case(session, hearing_case)
        [hearing] = queries.hearings(session, case.id)
        names = [p.name for p in queries.hearing_parties(session, hearing.id)]
        proposals = queries.decision_history(
            session, queries.get_case(session, proposals_case).id)[-1].proposal_decisions
        old_case = queries.get_case(session, old)
    assert (case.status, hearing.title, hearing.deadline, hearing.opened_on) == (
        "hearing", "Udsattestrategien", deadline, days(0))
    assert names == ["Handicaprådet", "Udsatterådet"]
    assert proposals == [{"number": 1, "text": "Bemærkningerne sendes videre."},
                         {"number": 2, "text": "Et mindretal foreslår 87 %."}]
    assert old_case.status == "replaced"
