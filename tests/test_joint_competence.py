"""Joint competence ("Beslutningskompetence: SU og BSU"): named on the command line and in the
API, and the case is decided only when every named body has decided."""

import pytest
from route_helpers import CENTRE, Both

from workflow.errors import TransitionRefused
from workflow.machine import COMMITTEE, DECIDED, CaseFlow, fire


@pytest.fixture
def both(any_db_url, monkeypatch):
    b = Both(any_db_url, monkeypatch)
    yield b
    b.close()


def test_the_machine_decides_a_joint_case_after_both_bodies():
    flow = CaseFlow(deciding_body="SU", deciding_stage=COMMITTEE, committees=["SU", "BSU"],
                    joint_bodies=["BSU"])
    fire(flow, "submit")
    fire(flow, "treat", body="SU", wording="godkendt", meeting_date="2022-10-04")
    assert flow.state == COMMITTEE and flow.awaiting_bodies() == ["BSU"]
    with pytest.raises(TransitionRefused):
        fire(flow, "close")
    fire(flow, "treat", body="BSU", wording="godkendt", meeting_date="2022-10-05")
    assert flow.state == DECIDED and flow.deciding_bodies() == ["SU", "BSU"]


def test_the_cli_names_two_deciding_bodies_and_closes_only_after_both(both):
    both.cli("case", "create", "--number", "J-1", "--title", "Fælles sag", "--centre", CENTRE,
             "--decided-by", "SU", "--decided-by", "BSU")
    shown = both.cli("case", "show", "J-1").output
    assert "Beslutningen træffes af: SU og BSU" in shown
    both.cli("case", "submit", "J-1")
    both.cli("case", "treat", "J-1", "--body", "SU", "--decision", "godkendt",
             "--date", "04-10-2022")
    refused = both.cli("case", "close", "J-1", ok=False)
    assert refused.exit_code != 0 and "Afslut sagen" in refused.output
    assert "Afventer behandling i: BSU" in both.cli("case", "show", "J-1").output
    both.cli("case", "treat", "J-1", "--body", "BSU", "--decision", "godkendt",
             "--date", "05-10-2022")
    both.cli("case", "close", "J-1")
    assert "Afsluttet" in both.cli("case", "show", "J-1").output


def test_the_api_takes_a_list_and_decides_after_both(both):
    made = both.post("/api/cases", {"number": "J-2", "title": "Fælles sag", "centre": CENTRE,
                                    "deciding_body": ["SU", "BSU"]}, status=201)
    assert made["deciding_bodies"] == ["SU", "BSU"] and set(made["committees"]) == {"SU", "BSU"}
    both.post("/api/cases/J-2/transitions", {"trigger": "submit"})
    first = both.post("/api/cases/J-2/decisions", {"body": "BSU", "wording": "Godkendt",
                                                    "meeting_date": "04-10-2022"})
    assert first["to"] == "committee"
    second = both.post("/api/cases/J-2/decisions", {"body": "SU", "wording": "Godkendt",
                                                     "meeting_date": "04-10-2022"})
    assert second["to"] == "decided"


def test_joint_competence_is_refused_for_a_body_that_is_no_committee(both):
    refused = both.post("/api/cases", {"number": "J-3", "title": "Sag", "centre": CENTRE,
                                       "deciding_body": ["KB", "SU"]}, status=400)
    assert "Fælles beslutningskompetence deles af fagudvalg" in refused["detail"]
    out = both.cli("case", "create", "--number", "J-4", "--title", "Sag", "--centre", CENTRE,
                   "--decided-by", "ØU", "--decided-by", "SU", ok=False).output
    assert "Økonomiudvalget er ikke et fagudvalg" in out

