"""Referral: the council (KB) or the finance committee (ØU) refers a case to committees
("henvises til …") and receives it back; whether ØU treats it again is chosen at referral
(default from the organisation file), unlike "Sendes tilbage til fagudvalgene". Through the
command line and the API, on SQLite and PostgreSQL."""

import pytest
from route_helpers import CENTRE, Both

from cases import queries, services
from cases.db import read_session
from cases.organisation import load_organisation
from cases.settings import PROJECT_DIR


@pytest.fixture
def both(any_db_url, monkeypatch):
    b = Both(any_db_url, monkeypatch)
    yield b
    b.close()


def at_council(both, number: str) -> None:
    """A KB case via SU and ØU, now before KB."""
    both.cli("case", "create", "--number", number, "--title", "Henvises", "--centre", CENTRE,
             "--decided-by", "KB", "--committee", "SU")
    both.cli("case", "submit", number)
    both.cli("case", "treat", number, "--body", "SU", "--decision", "anbefales",
             "--date", "04-10-2022")
    both.cli("case", "treat", number, "--body", "ØU", "--decision", "anbefales",
             "--date", "11-10-2022")


def state(both, number: str) -> tuple[str, list[str]]:
    data = both.get(f"/api/cases/{number}")
    return data["status"], data["awaiting"]


def stored_equals_replay(both, number: str) -> None:
    with read_session(both.engine) as session:
        case = queries.get_case(session, number)
        org = load_organisation(PROJECT_DIR / "config" / "ballerup.toml")
        assert services.flow_summary(services.current_flow(session, org, case)) == \
            services.flow_summary(services.replayed_flow(session, case))


def test_kb_refers_to_two_committees_and_gets_it_back_without_a_new_finance_round(both):
    at_council(both, "H-1")
    out = both.cli("case", "refer", "H-1", "--body", "KB", "--to", "SU", "--to", "BSU",
                   "--date", "24-10-2022").output
    assert "Henvis til fagudvalg" in out
    assert state(both, "H-1") == ("committee", ["BSU", "SU"])
    history = both.cli("case", "history", "H-1").output
    assert ("24-10-2022 Kommunalbestyrelsen: Henvist til fagudvalg – Henvist til "
            "Socialudvalget og Børne- og Skoleudvalget.") in history
    both.cli("case", "treat", "H-1", "--body", "SU", "--decision", "anbefales",
             "--date", "01-11-2022")
    both.cli("case", "treat", "H-1", "--body", "BSU", "--decision", "anbefales",
             "--date", "01-11-2022")
    assert state(both, "H-1") == ("council", ["KB"])  # back to KB; ØU's statement stands
    stored_equals_replay(both, "H-1")
    both.cli("case", "treat", "H-1", "--body", "KB", "--decision", "godkendt",
             "--date", "28-11-2022")
    assert state(both, "H-1")[0] == "decided"


def test_the_api_refers_with_a_new_finance_round(both):
    at_council(both, "H-2")
    both.post("/api/cases/H-2/decisions", {
        "body": "KB", "wording": "Henvist til fagudvalg", "meeting_date": "24-10-2022",
        "bodies": ["SU", "BSU"], "finance_again": True})
    history = both.get("/api/cases/H-2/history")
    assert history[-1]["text"] == ("Henvist til Socialudvalget og Børne- og Skoleudvalget. "
                                   "Sagen behandles derefter igen i Økonomiudvalget.")
    for body in ("BSU", "SU"):
        both.post("/api/cases/H-2/transitions", {"trigger": "treat", "body": body,
                                                 "wording": "anbefales",
                                                 "meeting_date": "01-11-2022"})
    assert state(both, "H-2") == ("finance", ["ØU"])
    refused = both.post("/api/cases/H-2/decisions", {"body": "KB", "wording": "Godkendt",
                                                      "meeting_date": "28-11-2022"},
                        status=409)
    assert "afventer behandling i ØU" in refused["detail"]
    stored_equals_replay(both, "H-2")
    both.post("/api/cases/H-2/decisions", {"body": "ØU", "wording": "Anbefales",
                                           "meeting_date": "15-11-2022"})
    assert state(both, "H-2") == ("council", ["KB"])


def test_the_finance_committee_refers_and_gets_it_back(both):
    both.cli("case", "create", "--number", "H-3", "--title", "Henvises", "--centre", CENTRE,
             "--decided-by", "KB", "--committee", "SU")
    both.cli("case", "submit", "H-3")
    both.cli("case", "treat", "H-3", "--body", "SU", "--decision", "anbefales",
             "--date", "04-10-2022")
    both.post("/api/cases/H-3/transitions", {"trigger": "refer", "body": "ØU",
                                             "bodies": ["KMU"], "meeting_date": "11-10-2022"})
    assert state(both, "H-3") == ("committee", ["KMU"])
    both.cli("case", "treat", "H-3", "--body", "KMU", "--decision", "anbefales",
             "--date", "18-10-2022")
    assert state(both, "H-3") == ("finance", ["ØU"])


def test_a_referral_without_committees_or_to_a_council_is_refused(both):
    at_council(both, "H-4")
    out = both.cli("case", "refer", "H-4", "--body", "KB", "--date", "24-10-2022",
                   ok=False).output
    assert "Angiv hvilke fagudvalg sagen henvises til." in out
    refused = both.post("/api/cases/H-4/transitions", {
        "trigger": "refer", "body": "KB", "bodies": ["HR"], "meeting_date": "24-10-2022"},
        status=400)
    assert "HR er ikke et fagudvalg" in refused["detail"]
    assert state(both, "H-4") == ("council", ["KB"])


def test_the_default_comes_from_the_organisation_file(both, tmp_path, monkeypatch):
    source = (PROJECT_DIR / "config" / "ballerup.toml").read_text(encoding="utf-8")
    changed = tmp_path / "org.toml"
    changed.write_text(source.replace("referral_finance_again = false",
                                      "referral_finance_again = true"), encoding="utf-8")
    assert load_organisation(changed).referral_finance_again
    at_council(both, "H-5")
    monkeypatch.setenv("SAGSGANG_ORGANISATION", str(changed))
    from cases.settings import get_settings
    get_settings.cache_clear()
    both.cli("case", "refer", "H-5", "--body", "KB", "--to", "SU", "--date", "24-10-2022")
    both.cli("case", "treat", "H-5", "--body", "SU", "--decision", "anbefales",
             "--date", "01-11-2022")
    assert state(both, "H-5") == ("finance", ["ØU"])


def test_the_councils_meeting_page_refers_a_case_with_a_new_finance_round(web_app, web_engine):
    from test_web_meeting_decisions import decide, decision_form, held_meeting
    from web_fixtures import as_role, new_number

    from cases import actions
    from cases.db import write_session

    number = new_number("H")
    with write_session(web_engine) as session:
        services.create_case(session, {"number": number, "title": "Henvises fra siden",
                                       "centre": CENTRE, "deciding_body": "KB",
                                       "committees": ["SU"]}, actor="test")
        actions.submit(session, number, actor="test")
        actions.treat(session, number, actor="test", body="SU", wording="anbefales",
                      meeting_date="04-10-2022")
        actions.treat(session, number, actor="test", body="ØU", wording="anbefales",
                      meeting_date="11-10-2022")
    meeting_id, item_id = held_meeting(web_engine, number, body="KB")
    client = as_role(web_app, "secretariat")
    form = decision_form(client.get(f"/moeder/{meeting_id}").text, item_id)
    assert '<select name="finance_again">' in form
    response = decide(client, meeting_id, item_id, wording="henvist", bodies=["SU", "BSU"],
                      finance_again="ja")
    assert response.status_code == 303, response.text
    with read_session(web_engine) as session:
        case = queries.get_case(session, number)
        assert (case.status, case.referral_return, case.finance_statement) == \
            ("committee", "finance", False)
        assert sorted(queries.awaiting_bodies(session, case.id)) == ["BSU", "SU"]


def test_the_planner_knows_where_a_referred_case_returns():
    from meetings.planner import remaining_stages
    from workflow.machine import CaseFlow

    base = dict(deciding_body="KB", deciding_stage="council", committees=["SU", "BSU"],
                finance_body="ØU", council_body="KB", state="committee",
                pending=["SU", "BSU"])
    assert remaining_stages(CaseFlow(**base, return_stage="council")) == \
        [["SU", "BSU"], ["KB"]]
    assert remaining_stages(CaseFlow(**base, return_stage="finance")) == \
        [["SU", "BSU"], ["ØU"], ["KB"]]
