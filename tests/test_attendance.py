"""Attendance and votes (Deltog, Afbud, Fraværende, stedfortrædere, "deltog ikke under punkt",
afstemninger, mindretalsudtalelser, forbehold, protokolbemærkninger): read from what was
typed, recorded through the command line, and shown in the minutes, the case's
Beslutningshistorik and the API, on SQLite and PostgreSQL; a closed item's votes and notes
only for those who may read it."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from query_count import queries_during
from route_helpers import CENTRE, Both
from servers import database_dump
from sqlmodel import select

from cases.dates import format_date
from cases.db import alembic_config, make_engine, read_session, write_session
from cases.models import Case, Membership, User, utcnow
from meetings.attendance import (
    ABSENT,
    SENT_APOLOGIES,
    attendance_entries,
    item_ranges,
    parse_item_numbers,
    person_label,
    split_names,
    vote_groups,
    vote_text,
)
from meetings.calendar import local_day
from meetings.models import Attendance
from views.case import history
from web.tokens import new_api_token
from workflow.errors import InvalidInput

TODAY = local_day(utcnow())


# -- reading what was typed (pure) -------------------------------------------------------------

def test_it_reads_an_attendance_list_as_a_referat_writes_it():
    entries = attendance_entries(
        present=["Anna Andersen (A), Dorte Dahl (Ø) og Mads Medlem"],
        substitutes=["Erik Eriksen (V) for Bo Berg"],
        apologies=["Bo Berg (V) – ferie"], absent=["Carl Carlsen"],
        not_under=["Dorte Dahl: 20-21, 23"])
    shown = [(e.name, e.party, e.status, e.substitute_for, e.not_under, e.note)
             for e in entries]
    assert shown == [("Anna Andersen", "A", "deltog", "", [], ""),
                     ("Dorte Dahl", "Ø", "deltog", "", [20, 21, 23], ""),
                     ("Mads Medlem", "", "deltog", "", [], ""),
                     ("Erik Eriksen", "V", "deltog", "Bo Berg", [], ""),
                     ("Bo Berg", "V", SENT_APOLOGIES, "", [], "ferie"),
                     ("Carl Carlsen", "", ABSENT, "", [], "")]
    assert person_label("Dorte Dahl", "Ø", not_under=[20, 21, 23]) == \
        "Dorte Dahl (Ø), deltog ikke under punkt 20-21, 23"
    assert person_label("Erik Eriksen", "V", "Bo Berg") == \
        "Erik Eriksen (V), stedfortræder for Bo Berg"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"present": ["Anna", "anna"]}, "mere end én gang"),
    ({"present": ["Anna"], "not_under": ["Bo: 3"]}, "står ikke som deltager"),
    ({"absent": ["Anna"], "not_under": ["Anna: 3"]}, "står ikke som deltager"),
    ({"present": ["Anna"], "not_under": ["Anna: tre"]}, "Ugyldige punktnumre"),
    ({"present": ["Anna"], "not_under": ["Anna 3"]}, "Navn: punkter"),
    ({"substitutes": ["Erik Eriksen"]}, "Navn for Medlem"),
])
def test_it_refuses_a_list_it_cannot_read_in_danish(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        attendance_entries(**kwargs)


def test_it_writes_votes_and_item_numbers_as_the_minutes_do():
    assert parse_item_numbers("20-21, 23 og 25") == [20, 21, 23, 25]
    assert item_ranges([25, 20, 21, 23, 22]) == "20-23, 25"
    assert split_names(["A, V", "Ø"]) == ["A", "V", "Ø"]
    groups = vote_groups({"for": ["A", "V"], "imod": ["Ø"]}, {"for": 7, "imod": 2,
                                                              "undlod": 0})
    assert vote_text(groups) == "For: A, V (7). Imod: Ø (2)."
    assert vote_text(vote_groups({}, {"for": 9, "imod": 0, "undlod": 1})) == \
        "For: 9. Undlod: 1."


# -- end to end: the command line records, the documents, the API and the history show ---------

@pytest.fixture
def both(any_db_url, monkeypatch):
    b = Both(any_db_url, monkeypatch)
    with write_session(b.engine) as session:
        for username, name in (("anna", "Anna Andersen"), ("bo", "Bo Berg"),
                               ("carl", "Carl Carlsen"), ("dorte", "Dorte Dahl")):
            user = User(username=username, name=name, email=f"{username}@example.org",
                        role="member")
            session.add(user)
            session.flush()
            session.add(Membership(user_id=user.id, body_code="SU"))
        outsider = User(username="udenfor", name="Uden Adgang", email="udenfor@example.org",
                        role="member")
        session.add(outsider)
        session.flush()
        session.add(Membership(user_id=outsider.id, body_code="SÆU"))
        session.flush()
        b.outsider_token = new_api_token(session, outsider.id, "uden adgang")
    yield b
    b.close()


def held_meeting(both) -> str:
    """An SU meeting today with an open case (two proposals) and a closed one, decided."""
    for number, title, extra in (("V-1", "Klimapolitik 2023-2050", []),
                                 ("V-2", "Sag om en borger", ["--closed"])):
        both.cli("case", "create", "--number", number, "--title", title, "--centre", CENTRE,
                 "--decided-by", "SU", "--committee", "SU", "--proposal", "at politikken godkendes",
                 "--proposal", "at målet er 85 %", *extra)
        both.cli("case", "submit", number)
    ref = f"SU:{format_date(TODAY)}"
    both.cli("meeting", "create", "--body", "SU", "--date", format_date(TODAY),
             "--time", "00:30")
    for number in ("V-1", "V-2"):
        both.cli("meeting", "place", ref, number, "--late-reason", "Hastesag")
    both.cli("meeting", "publish", ref, "--late-reason", "Hastesag")
    both.cli("meeting", "decide", ref, "1", "--decision", "Godkendt")
    both.cli("meeting", "decide", ref, "2", "--decision", "Godkendt")
    return ref


def record_the_minutes(both, ref: str) -> None:
    shown = both.cli("meeting", "attendance", ref,
                     "--present", "Anna Andersen (A), medlem (A)", "--present", "Dorte Dahl (Ø)",
                     "--substitute", "Erik Eriksen (V) for bo",
                     "--apologies", "Bo Berg (V) – ferie", "--absent", "Carl Carlsen (C)",
                     "--not-under", "Dorte Dahl:2").output
    assert "Deltog: Anna Andersen (A); Mads Medlem (A); Dorte Dahl (Ø), deltog ikke under " \
           "punkt 2; Erik Eriksen (V), stedfortræder for Bo Berg" in shown
    voted = both.cli("meeting", "vote", ref, "1", "--proposal", "2", "--for", "A",
                     "--against", "dorte", "--abstain", "Erik Eriksen").output
    assert "For: A (2). Imod: Dorte Dahl (1). Undlod: Erik Eriksen (1)." in voted
    both.cli("meeting", "vote", ref, "1", "--proposal", "1", "--for-count", "4")
    both.cli("meeting", "note", ref, "1", "--kind", "mindretal", "--who", "Ø",
             "--text", "Enhedslisten ønsker et mål på 87 % i stedet for 85 %.")
    both.cli("meeting", "note", ref, "1", "--kind", "forbehold", "--who", "V")
    both.cli("meeting", "vote", ref, "2", "--for", "Anna Andersen, Mads Medlem",
             "--against", "Erik Eriksen")
    both.cli("meeting", "note", ref, "2", "--kind", "protokol", "--who", "Anna Andersen (A)",
             "--text", "HEMMELIG-PROTOKOL om borgeren.")


def test_the_minutes_show_attendance_votes_and_a_minority_everywhere(both):
    ref = held_meeting(both)
    record_the_minutes(both, ref)

    minutes = both.cli("meeting", "render", ref, "--kind", "referat").output
    assert "Deltog: Anna Andersen (A); Mads Medlem (A); Dorte Dahl (Ø), deltog ikke under " \
           "punkt 2; Erik Eriksen (V), stedfortræder for Bo Berg</p>" in minutes
    assert "Afbud: Bo Berg (V) (ferie)</p>" in minutes
    assert "Fraværende: Carl Carlsen (C)</p>" in minutes
    assert "Afstemning om indstillingens punkt 2: " in minutes
    assert ">For: A (2)</span> <span class=\"stemmer\" data-choice=\"imod\">Imod: Dorte Dahl " \
           "(1)</span>" in minutes
    assert "Mindretallet (Ø) ønsker ført til protokol: Enhedslisten ønsker et mål på 87 %" \
        in minutes
    assert "V tager forbehold." in minutes
    assert "Deltog ikke under punktet: Dorte Dahl (Ø)" in minutes
    assert "HEMMELIG-PROTOKOL" in minutes  # the secretariat's own copy
    # The public sees the closed item as number, title and decision: no votes, no notes.
    public = both.cli("meeting", "render", ref, "--kind", "referat", "--public").output
    assert "Mindretallet (Ø) ønsker ført til protokol" in public
    assert "HEMMELIG-PROTOKOL" not in public and "Deltog ikke under punktet" not in public
    assert public.count('class="afstemning"') == 2  # item 1's two votes, none of item 2

    # The case's Beslutningshistorik: the command line, as text and JSON, and the API.
    history = both.cli("case", "history", "V-1").output
    assert "Afstemning om indstillingens punkt 1: For: 4." in history
    assert "Afstemning om indstillingens punkt 2: For: A (2). Imod: Dorte Dahl (1). " \
           "Undlod: Erik Eriksen (1)." in history
    assert "Mindretallet (Ø) ønsker ført til protokol" in history
    rows = json.loads(both.cli("case", "history", "V-1", "--json").output)
    assert [(v["proposal"], v["for"], v["against"], v["abstained"])
            for v in rows[0]["votes"]] == [(1, 4, 0, 0), (2, 2, 1, 1)]
    api_rows = both.get("/api/cases/V-1/history")
    assert api_rows[0]["votes"] == rows[0]["votes"]
    assert [n["kind"] for n in api_rows[0]["notes"]] == ["mindretal", "forbehold"]
    closed = both.get("/api/cases/V-2/history")[0]
    assert closed["notes"][0]["text"] == "HEMMELIG-PROTOKOL om borgeren."
    assert closed["not_present"] == ["Dorte Dahl (Ø)"]

    # The meeting's agenda in the API: the attendance list, and each item's votes.
    meeting_id = both.get("/api/meetings?body=SU")[0]["id"]
    agenda = both.get(f"/api/meetings/{meeting_id}/agenda")
    assert [p["name"] for p in agenda["attendance"]["present"]] == [
        "Anna Andersen", "Mads Medlem", "Dorte Dahl", "Erik Eriksen"]
    assert agenda["attendance"]["apologies"][0]["note"] == "ferie"
    assert agenda["items"][1]["votes"][0]["text"] == \
        "For: Anna Andersen, Mads Medlem (2). Imod: Erik Eriksen (1)."

    # A member of another body may not read the closed case: neither its votes nor notes.
    outsider = {"Authorization": f"Bearer {both.outsider_token}"}
    seen = both.api.get(f"/api/meetings/{meeting_id}/agenda", headers=outsider).json()
    assert seen["items"][1]["votes"] is None and seen["items"][1]["notes"] is None
    assert seen["items"][0]["notes"][0]["who"] == "Ø"
    assert [(i["closed"], i["summary"] is not None) for i in seen["items"]] == [
        (False, True), (True, False)]
    assert [(i["closed"], i["summary"] is not None) for i in agenda["items"]] == [
        (False, True), (True, True)]  # the secretariat reads the closed item too
    seen = both.api.get("/api/cases/V-2/history", headers=outsider).json()
    assert "votes" not in seen[0] and "HEMMELIG" not in json.dumps(seen)
    seen = both.api.get("/api/cases/V-2", headers=outsider).json()
    assert "HEMMELIG" not in json.dumps(seen)


def test_the_api_records_attendance_votes_and_notes(both):
    ref = held_meeting(both)
    meeting_id = both.get("/api/meetings?body=SU")[0]["id"]
    shown = both.post(f"/api/meetings/{meeting_id}/attendance", {"entries": [
        {"username": "anna", "party": "A"}, {"name": "Dorte Dahl", "party": "Ø",
                                             "not_under": [2]},
        {"name": "Erik Eriksen", "party": "V", "substitute_for": "bo"},
        {"name": "Bo Berg", "status": "afbud"}]})
    assert [p["label"] for p in shown["present"]] == [
        "Anna Andersen (A)", "Dorte Dahl (Ø), deltog ikke under punkt 2",
        "Erik Eriksen (V), stedfortræder for Bo Berg"]
    item_id = both.get(f"/api/meetings/{meeting_id}/agenda")["items"][0]["id"]
    vote = both.post(f"/api/items/{item_id}/votes", {"proposal": 1, "for": ["A", "V"],
                                                      "against": ["Ø"]})
    assert vote["text"] == "For: A, V (2). Imod: Ø (1)."
    note = both.post(f"/api/items/{item_id}/notes", {
        "kind": "mindretal", "who": "Ø", "text": "Målet bør være 87 %."}, status=201)
    assert note["sentence"] == "Mindretallet (Ø) ønsker ført til protokol: Målet bør være 87 %."
    minutes = both.cli("meeting", "render", ref, "--kind", "referat", "--public").output
    assert "Afstemning om indstillingens punkt 1: " in minutes
    assert "Mindretallet (Ø) ønsker ført til protokol: Målet bør være 87 %." in minutes
    # Refused in Danish, nothing written: an unknown member, a proposal the case lacks.
    before = database_dump(both.engine)
    refused = both.post(f"/api/items/{item_id}/votes", {"for": ["Zorro"]}, status=400)
    assert refused["detail"].startswith("Ukendt medlem eller parti: 'Zorro'")
    refused = both.post(f"/api/items/{item_id}/votes", {"proposal": 7, "for_count": 2},
                        status=400)
    assert refused["detail"] == "Punkt 1 har intet indstillingspunkt 7; afstemningen kan " \
                                "ikke registreres."
    refused = both.post(f"/api/meetings/{meeting_id}/attendance", {"entries": [
        {"username": "zorro"}]}, status=404)
    assert refused["detail"] == "Brugeren 'zorro' findes ikke."
    assert database_dump(both.engine) == before


@pytest.mark.parametrize(("args", "message"), [
    (("vote", "1", "--for", "Zorro"), "Ukendt medlem eller parti: 'Zorro'"),
    (("vote", "1", "--proposal", "9", "--for-count", "3"),
     "Punkt 1 har intet indstillingspunkt 9"),
    (("vote", "2", "--for", "Dorte Dahl"), "Dorte Dahl deltog ikke under punkt 2"),
    (("vote", "1", "--against", "Bo Berg"), "Bo Berg deltog ikke i mødet (afbud)"),
    (("vote", "1", "--for", "Anna Andersen", "--against", "anna"),
     "Anna Andersen står under både For og Imod"),
    (("vote", "1", "--for", "A", "--for-count", "1"), "2 navngivne stemmer"),
    (("vote", "1"), "Angiv, hvem der stemte"),
    (("note", "1", "--kind", "mindretal", "--who", "Ø"), "Skriv teksten"),
    (("attendance", "--present", "Anna", "--not-under", "Anna:99"), "Mødet har intet punkt 99"),
    (("attendance", "--present", "Bo Berg", "--substitute", "Erik for Bo Berg"),
     "Bo Berg står som deltager og kan ikke have en stedfortræder"),
])
def test_invalid_input_is_refused_in_danish_and_changes_nothing(both, args, message):
    ref = held_meeting(both)
    record_the_minutes(both, ref)
    before = database_dump(both.engine)
    command, *rest = args
    result = both.cli("meeting", command, ref, *rest, ok=False)
    assert result.exit_code == 1
    assert message in result.output, result.output
    assert database_dump(both.engine) == before


def test_votes_wait_for_the_meeting_and_stop_when_the_minutes_are_sent(both):
    later = format_date(TODAY + timedelta(days=14))
    both.cli("meeting", "create", "--body", "SU", "--date", later)
    both.cli("meeting", "standing", f"SU:{later}", "meddelelser")
    result = both.cli("meeting", "vote", f"SU:{later}", "1", "--for-count", "3", ok=False)
    assert "Dagsordenen er ikke offentliggjort" in result.output
    ref = held_meeting(both)
    both.cli("meeting", "send-minutes", ref)
    for args in (("vote", ref, "1", "--for-count", "3"),
                 ("attendance", ref, "--present", "Anna Andersen"),
                 ("absent", ref, "--name", "Bo Berg")):
        result = both.cli("meeting", *args, ok=False)
        assert "udsendt til godkendelse" in result.output, result.output


def test_the_old_absence_command_adds_to_the_list(both):
    ref = held_meeting(both)
    both.cli("meeting", "attendance", ref, "--present", "Anna Andersen")
    both.cli("meeting", "absent", ref, "--user", "bo", "--note", "Sygdom")
    shown = both.cli("meeting", "attendance", ref).output
    assert "Deltog: Anna Andersen" in shown and "Fraværende: Bo Berg (Sygdom)" in shown
    result = both.cli("meeting", "absent", ref, "--name", "anna andersen", ok=False)
    assert "står allerede på fremmødelisten" in result.output
    with write_session(both.engine) as session:
        rows = session.exec(select(Attendance.name, Attendance.user_id)).all()
    assert all(user_id is not None for _, user_id in rows)  # linked to the members


# -- the migration: absences become attendance rows ---------------------------------------------

def test_the_migration_keeps_the_absences_recorded_before(empty_url):
    config = alembic_config(empty_url)
    before = ScriptDirectory.from_config(config).get_revision("0019_attendance").down_revision
    command.upgrade(config, before)
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO meeting (id, body_code, starts_at, place, status, status_reason, "
                "agenda_status, minutes_status, created_at, changed_seq, notified_seq) VALUES "
                "(1, 'SU', '2022-10-04 15:00:00', '', 'planned', '', 'published', 'none', "
                "'2022-08-01 10:00:00', 0, 0)"))
            conn.execute(sa.text("INSERT INTO absence (meeting_id, user_id, name, note) "
                                 "VALUES (1, NULL, 'Bo Berg', 'Sygdom')"))
        command.upgrade(config, "0019_attendance")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT meeting_id, name, party, status, "
                                        "substitute_for, note FROM attendance")).all()
        assert [tuple(r) for r in rows] == [(1, "Bo Berg", "", "fravaerende", "", "Sygdom")]
        command.downgrade(config, before)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT meeting_id, name, note FROM absence")).all()
        assert [tuple(r) for r in rows] == [(1, "Bo Berg", "Sygdom")]
    finally:
        engine.dispose()


# -- the secretariat's pages -------------------------------------------------------------------

def test_the_secretariat_records_attendance_and_votes_on_the_minutes_page(web_app, web_engine):
    from web_fixtures import as_role, make_case, page_csrf

    from meetings.services import (
        create_meeting,
        place_case,
        publish_agenda,
        record_item_decision,
    )

    number = make_case(web_engine, title="Sag med afstemning", committees=("SU",))
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=TODAY, at="02:00").id
        item_id = place_case(session, meeting_id, number, late_reason="Hastesag").id
        publish_agenda(session, meeting_id, actor="test", late_reason="Hastesag")
    path = f"/moeder/{meeting_id}/referat"
    secretariat = as_role(web_app, "secretariat")
    page = secretariat.get(path).text
    assert ">Mads Medlem</textarea>" in page  # before any list: every member took part

    response = secretariat.post(f"/moeder/{meeting_id}/fremmoede", data={
        "csrf_token": page_csrf(secretariat, path), "present": "medlem (A)\nPia Gæst (Ø)",
        "substitutes": "", "apologies": "Bo Berg (V) – ferie", "absent": "",
        "not_under": "Pia Gæst: 7"})
    assert response.status_code == 400  # no item 7: refused, what was typed kept
    assert "Mødet har intet punkt 7" in response.text
    assert "Pia Gæst: 7</textarea>" in response.text and "Det blev ikke gemt" in response.text
    with write_session(web_engine) as session:
        assert session.exec(select(Attendance).where(
            Attendance.meeting_id == meeting_id)).all() == []

    response = secretariat.post(f"/moeder/{meeting_id}/fremmoede", data={
        "csrf_token": page_csrf(secretariat, path), "present": "medlem (A)\nPia Gæst (Ø)",
        "apologies": "Bo Berg (V) – ferie", "not_under": ""})
    assert response.status_code == 303
    votes = {"csrf_token": page_csrf(secretariat, path), "for_1": "A", "imod_1": "Zorro",
             "note_kind_1": "mindretal", "note_who_1": "Ø", "note_text_1": "Imod forslaget."}
    response = secretariat.post(f"/punkter/{item_id}/afstemning", data=votes)
    assert response.status_code == 400
    assert "Ukendt medlem eller parti: &#39;Zorro&#39;" in response.text
    assert 'value="Zorro"' in response.text and "Imod forslaget.</textarea>" in response.text
    response = secretariat.post(f"/punkter/{item_id}/afstemning",
                                data=votes | {"imod_1": "Pia Gæst"})
    assert response.status_code == 303
    page = secretariat.get(path).text
    assert "Deltog: " not in page  # the page lists them under its own headings
    assert "Mads Medlem (A); Pia Gæst (Ø)" in page and "Bo Berg (V) (ferie)" in page
    assert "Afstemning om indstillingens punkt 1: For: A (1). Imod: Pia Gæst (1)." in page
    assert "Mindretallet (Ø) ønsker ført til protokol: Imod forslaget." in page
    assert 'name="imod_1" value="Pia Gæst"' in page  # the form shows what is recorded

    with write_session(web_engine) as session:  # decided after the vote was recorded
        record_item_decision(session, item_id, wording="godkendt", actor="test")
    case_page = secretariat.get(f"/sager/{number}").text
    assert "Afstemning om indstillingens punkt 1: For: A (1). Imod: Pia Gæst (1)." in case_page
    assert "Mindretallet (Ø) ønsker ført til protokol: Imod forslaget." in case_page


def test_a_case_treated_at_several_meetings_shows_each_meetings_minutes_in_its_history(both):
    """Each treatment's votes and who took no part come from its own meeting; they are read
    by the case's items, so a case treated at three meetings costs the queries of one."""
    both.cli("case", "create", "--number", "V-3", "--title", "Trafikplan", "--centre", CENTRE,
             "--decided-by", "SU", "--committee", "SU", "--proposal", "at planen godkendes")
    both.cli("case", "submit", "V-3")
    days = [TODAY - timedelta(days=21), TODAY - timedelta(days=14), TODAY - timedelta(days=7)]
    for day, decision, not_under in zip(days, ("Udsat", "Udsat", "Godkendt"),
                                        ("Dorte Dahl:1", "Anna Andersen:1", ""), strict=True):
        ref = f"SU:{format_date(day)}"
        both.cli("meeting", "create", "--body", "SU", "--date", format_date(day),
                 "--time", "00:30")
        both.cli("meeting", "place", ref, "V-3", "--efterregistreret")
        both.cli("meeting", "publish", ref, "--late-reason", "Registreret efterfølgende")
        both.cli("meeting", "decide", ref, "1", "--decision", decision)
        both.cli("meeting", "attendance", ref, "--present", "Anna Andersen (A), medlem (A)",
                 "--present", "Dorte Dahl (Ø)",
                 *(("--not-under", not_under) if not_under else ()))
        if decision == "Godkendt":
            both.cli("meeting", "vote", ref, "1", "--for", "A", "--against", "dorte")

    rows = both.get("/api/cases/V-3/history")
    assert [(r["date"], r["decision"], r["not_present"]) for r in rows] == [
        (days[0].isoformat(), "Udsat", ["Dorte Dahl (Ø)"]),
        (days[1].isoformat(), "Udsat", ["Anna Andersen (A)"]),
        (days[2].isoformat(), "Godkendt", [])]
    assert [[v["text"] for v in r["votes"]] for r in rows] == [
        [], [], ["For: A (2). Imod: Dorte Dahl (1)."]]

    def queries_of(number: str) -> int:
        with read_session(both.engine) as session:
            case_id = session.exec(select(Case.id).where(Case.number == number)).one()
            return queries_during(lambda: history(session, case_id, minutes=True),
                                  both.engine)[0]

    record_the_minutes(both, held_meeting(both))  # V-1: treated at one meeting, with votes
    assert queries_of("V-3") == queries_of("V-1")
