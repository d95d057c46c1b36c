"""The JSON API: every role × every action is allowed or refused (403/401) on the server."""

import pytest
from sqlmodel import select
from web_fixtures import (
    anonymous,
    bearer,
    days,
    make_case,
    new_number,
)

from cases import services
from cases.db import write_session
from cases.models import Hearing
from workflow.access import ALL_ROLES, PERMISSIONS


def _hearing_id(engine, number: str) -> int:
    with write_session(engine) as session:
        hearing = services.add_hearing(session, number, title="Høring", parties=["HR"],
                                       deadline=days(10), opened_on=days(0), actor="test")
        return hearing.id


def _hearing_with_response(engine, number: str) -> int:
    hearing_id = _hearing_id(engine, number)
    with write_session(engine) as session:
        services.record_hearing_response(session, hearing_id, party="HR", received_on=days(1),
                                         text="Svar", actor="test")
    return hearing_id


# (name, permission, method, path builder, json body builder, success status)
def _actions():
    return [
        ("list_cases", "view_cases", "GET", lambda e: "/api/cases", None, 200),
        ("create_case", "create_case", "POST", lambda e: "/api/cases",
         lambda: {"number": new_number("API"), "title": "Ny sag", "deciding_body": "SU",
                  "centre": "Center for Voksne og Sundhed"}, 201),
        ("get_case", "view_cases", "GET", lambda e: f"/api/cases/{make_case(e)}", None, 200),
        ("case_actions", "view_cases", "GET",
         lambda e: f"/api/cases/{make_case(e)}/actions", None, 200),
        ("history", "view_cases", "GET", lambda e: f"/api/cases/{make_case(e)}/history",
         None, 200),
        ("transition", "fire_transition", "POST",
         lambda e: f"/api/cases/{make_case(e, submit=False)}/transitions",
         lambda: {"trigger": "submit"}, 200),
        ("decision", "record_decision", "POST",
         lambda e: f"/api/cases/{make_case(e)}/decisions",
         lambda: {"body": "SU", "wording": "Anbefales", "meeting_date": "04-10-2022"}, 200),
        ("deadlines", "view_cases", "GET", lambda e: f"/api/cases/{make_case(e)}/deadlines",
         None, 200),
        ("add_deadline", "add_deadline", "POST",
         lambda e: f"/api/cases/{make_case(e)}/deadlines",
         lambda: {"due_date": "30-11-2030", "description": "KB senest"}, 201),
        ("hearings", "view_cases", "GET", lambda e: f"/api/cases/{make_case(e)}/hearings",
         None, 200),
        ("add_hearing", "add_hearing", "POST", lambda e: f"/api/cases/{make_case(e)}/hearings",
         lambda: {"title": "Høring", "parties": ["HR"], "deadline": "01-11-2030",
                  "opened_on": "01-10-2030"}, 201),
        ("hearing_response", "record_hearing_response", "POST",
         lambda e: f"/api/hearings/{_hearing_id(e, make_case(e))}/responses",
         lambda: {"party": "HR", "received_on": "05-10-2030", "text": "Vi støtter."}, 201),
        ("close_hearing", "close_hearing", "POST",
         lambda e: f"/api/hearings/{_hearing_with_response(e, make_case(e))}/close",
         lambda: {"closed_on": "06-10-2030"}, 200),
        ("queue", "view_queues", "GET", lambda e: "/api/bodies/SU/queue", None, 200),
        ("list_queue", "view_queues", "GET", lambda e: "/api/cases?body=SU", None, 200),
        ("dashboard", "view_dashboard", "GET", lambda e: "/api/dashboard", None, 200),
        ("meetings", "view_meetings", "GET", lambda e: "/api/meetings", None, 200),
    ]


ACTIONS = _actions()


# The policy, written out independently of workflow.access: who may do what.
EXPECTED_POLICY = {
    "view_cases": {"secretariat", "case_owner", "manager", "member", "admin"},
    "view_queues": {"secretariat", "case_owner", "manager", "admin"},
    "view_dashboard": {"secretariat", "manager", "admin"},
    "create_case": {"secretariat", "case_owner", "admin"},
    "edit_case": {"secretariat", "case_owner", "admin"},
    "add_deadline": {"secretariat", "case_owner", "admin"},
    "add_hearing": {"secretariat", "case_owner", "admin"},
    "record_hearing_response": {"secretariat", "case_owner", "admin"},
    "close_hearing": {"secretariat", "admin"},
    "fire_transition": {"secretariat", "admin"},
    "record_decision": {"secretariat", "admin"},
    "manage_agenda": {"secretariat", "admin"},
    "manage_meetings": {"secretariat", "admin"},
    "manage_minutes": {"secretariat", "admin"},
    "approve_minutes": {"member"},
    "view_meetings": {"secretariat", "case_owner", "manager", "member", "admin"},
    "follow": {"secretariat", "case_owner", "manager", "member", "admin"},
    "manage_users": {"admin"},
    "view_failed_mail": {"secretariat", "admin"},
}


def test_it_enforces_the_written_policy():
    assert {k: set(v) for k, v in PERMISSIONS.items()} == EXPECTED_POLICY


def test_it_covers_every_permission_an_api_action_needs():
    used = {a[1] for a in ACTIONS}
    assert used <= set(PERMISSIONS)


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("action", ACTIONS, ids=[a[0] for a in ACTIONS])
def test_it_allows_or_refuses_each_role_each_action(web_app, web_engine, api_tokens, role, action):
    name, permission, method, path_for, body_for, success = action
    path = path_for(web_engine)
    client = anonymous(web_app)
    response = client.request(method, path, json=body_for() if body_for else None,
                              headers=bearer(api_tokens[role]))
    if role in PERMISSIONS[permission]:
        assert response.status_code == success, response.text
    else:
        assert response.status_code == 403, response.text
        assert "adgang" in response.json()["detail"]


@pytest.mark.parametrize("action", ACTIONS, ids=[a[0] for a in ACTIONS])
def test_it_refuses_every_action_without_a_token(web_app, web_engine, action):
    name, permission, method, path_for, body_for, success = action
    response = anonymous(web_app).request(method, path_for(web_engine),
                                          json=body_for() if body_for else None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_it_refuses_an_unknown_or_revoked_token(web_app, web_engine, api_tokens):
    client = anonymous(web_app)
    assert client.get("/api/cases", headers=bearer("sg_forged")).status_code == 401
    from cases.models import ApiToken, utcnow
    from web.passwords import token_hash
    with write_session(web_engine) as session:
        row = session.exec(select(ApiToken).where(
            ApiToken.token_hash == token_hash(api_tokens["manager"]))).one()
        row.revoked_at = utcnow()
        session.add(row)
    assert client.get("/api/cases", headers=bearer(api_tokens["manager"])).status_code == 401
    with write_session(web_engine) as session:
        row = session.exec(select(ApiToken).where(
            ApiToken.token_hash == token_hash(api_tokens["manager"]))).one()
        row.revoked_at = None
        session.add(row)


def test_it_ignores_the_session_cookie_in_the_api(web_app):
    from web_fixtures import as_role
    client = as_role(web_app, "admin")
    assert client.get("/api/cases").status_code == 401


def test_it_answers_a_stale_version_with_409_and_writes_nothing(web_app, web_engine, api_tokens):
    number = make_case(web_engine)
    client = anonymous(web_app)
    headers = bearer(api_tokens["secretariat"])
    version = client.get(f"/api/cases/{number}", headers=headers).json()["version"]
    ok = client.post(f"/api/cases/{number}/decisions", headers=headers,
                     json={"body": "SU", "wording": "anbefales", "meeting_date": "04-10-2022",
                           "version": version})
    assert ok.status_code == 200
    stale = client.post(f"/api/cases/{number}/decisions", headers=headers,
                        json={"body": "BSU", "wording": "anbefales",
                              "meeting_date": "04-10-2022", "version": version})
    assert stale.status_code == 409
    assert "ændret af en anden" in stale.json()["detail"]
    assert client.get(f"/api/cases/{number}", headers=headers).json()["awaiting"] == ["BSU"]


def test_it_gives_danish_messages_with_400_404_409(web_app, web_engine, api_tokens):
    client = anonymous(web_app)
    headers = bearer(api_tokens["secretariat"])
    missing = client.get("/api/cases/NOPE-1", headers=headers)
    assert missing.status_code == 404 and "findes ikke" in missing.json()["detail"]
    invalid = client.post("/api/cases", headers=headers, json={"number": "x y", "title": ""})
    assert invalid.status_code == 400 and "Ugyldigt input" in invalid.json()["detail"]
    number = make_case(web_engine, submit=False)
    refused = client.post(f"/api/cases/{number}/transitions", headers=headers,
                          json={"trigger": "close"})
    assert refused.status_code == 409 and "ikke mulig" in refused.json()["detail"]


def test_it_sends_a_case_back_to_each_committee_through_the_api(web_app, web_engine, api_tokens):
    number = make_case(web_engine)
    client = anonymous(web_app)
    headers = bearer(api_tokens["secretariat"])
    for body in ("SU", "BSU"):
        assert client.post(f"/api/cases/{number}/decisions", headers=headers, json={
            "body": body, "wording": "Anbefales", "meeting_date": "06-09-2022"}).status_code == 200
    back = client.post(f"/api/cases/{number}/decisions", headers=headers, json={
        "body": "ØU", "wording": "sendes_tilbage", "meeting_date": "20-09-2022",
        "bodies": ["SU", "BSU"], "reason": "Mangler belysning"})
    assert back.status_code == 200, back.text
    assert back.json()["to"] == "committee"
    for body in ("SU", "BSU"):
        queue = client.get(f"/api/bodies/{body}/queue", headers=headers).json()
        assert number in [row["number"] for row in queue]
    history = client.get(f"/api/cases/{number}/history", headers=headers).json()
    assert [h["decision"] for h in history][-1] == "Sendes tilbage til fagudvalgene"


def test_it_hides_a_closed_items_text_from_members_of_other_bodies(web_app, web_engine, api_tokens):
    number = make_case(web_engine, confidential=True, committees=("SU",), summary="HEMMELIG-77")
    client = anonymous(web_app)
    own = client.get(f"/api/cases/{number}", headers=bearer(api_tokens["member"])).json()
    assert own["readable"] and own["summary"] == "HEMMELIG-77"
    other = client.get(f"/api/cases/{number}", headers=bearer(api_tokens["other_member"]))
    assert other.status_code == 200
    assert "HEMMELIG-77" not in other.text and other.json()["readable"] is False
    listed = client.get("/api/cases", headers=bearer(api_tokens["other_member"])).text
    assert "HEMMELIG-77" not in listed


def test_it_describes_the_api_in_openapi_without_login(web_app):
    client = anonymous(web_app)
    spec = client.get("/api/openapi.json").json()
    for path in ("/api/cases", "/api/cases/{number}/transitions", "/api/meetings",
                 "/api/cases/{number}/decisions", "/api/hearings/{hearing_id}/responses",
                 "/api/cases/{number}/deadlines"):
        assert path in spec["paths"], path
    assert not any(p.startswith("/sager") for p in spec["paths"])
    assert client.get("/api/health").json() == {"status": "ok"}


def test_it_keeps_hearings_readable_after_closing(web_app, web_engine, api_tokens):
    number = make_case(web_engine)
    hearing_id = _hearing_with_response(web_engine, number)
    client = anonymous(web_app)
    headers = bearer(api_tokens["secretariat"])
    assert client.post(f"/api/hearings/{hearing_id}/close", headers=headers,
                       json={"closed_on": "01-01-2030"}).status_code == 200
    with write_session(web_engine) as session:
        assert session.get(Hearing, hearing_id).closed_on is not None
    hearings = client.get(f"/api/cases/{number}/hearings", headers=headers).json()
    assert hearings[0]["responses"][0]["text"] == "Svar"


def test_it_hides_an_item_closed_on_the_agenda_from_members_of_other_bodies(
        web_app, web_engine, api_tokens):
    from web_fixtures import close_on_agenda

    number = make_case(web_engine, committees=("SU",), summary="HEMMELIG-88", deadline=days(20))
    close_on_agenda(web_engine, number)
    client = anonymous(web_app)
    other = client.get(f"/api/cases/{number}", headers=bearer(api_tokens["other_member"]))
    assert other.status_code == 200
    assert "HEMMELIG-88" not in other.text and other.json()["readable"] is False
    assert other.json()["closed_item"] is True
    own = client.get(f"/api/cases/{number}", headers=bearer(api_tokens["member"])).json()
    assert own["readable"] and own["summary"] == "HEMMELIG-88"
    # The list says the same of each case as the case itself.
    open_number = make_case(web_engine, committees=("SU",))

    def listed(role: str) -> dict[str, tuple[bool, bool]]:
        rows = client.get("/api/cases", headers=bearer(api_tokens[role])).json()
        return {row["number"]: (row["closed_item"], row["readable"]) for row in rows
                if row["number"] in (number, open_number)}

    assert listed("other_member") == {number: (True, False), open_number: (False, True)}
    assert listed("member") == {number: (True, True), open_number: (False, True)}


def test_it_shows_a_closed_cases_deadlines_only_to_those_who_may_read_it(
        web_app, web_engine, api_tokens):
    number = make_case(web_engine, confidential=True, committees=("SU",), deadline=days(25))
    client = anonymous(web_app)
    path = f"/api/cases/{number}/deadlines"
    own = client.get(path, headers=bearer(api_tokens["member"]))
    assert [d["description"] for d in own.json()] == ["KB senest"]
    other = client.get(path, headers=bearer(api_tokens["other_member"]))
    assert other.status_code == 200 and other.json() == []
