"""The open data (OParl 1.1, web.oparl): the demo, crawled from the System down to its Files,
every object checked against the standard's own JSON schemas, every link followed; the list
rules the schemas leave to the specification's prose (pagination, filters, limit, deleted
objects); what the public may not read (the demo's lukket punkt, a not-public Bilag) absent
everywhere; ETag/304, the rate limit and the meeting export."""

import csv
import io
import json
from collections import deque
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from bilag_samples import pdf_with_text
from fastapi.testclient import TestClient
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from shared_material import oparl_schemas
from sqlmodel import select

from cases import actions, files, queries, services
from cases.db import make_engine, read_session, write_session
from cases.models import Membership, User, utcnow
from cases.settings import get_settings
from demo.cases import load_demo
from demo.today import numbers
from meetings import queries as meeting_queries
from meetings.calendar import local_day
from meetings.services import cancel_meeting, create_meeting, place_case, publish_agenda
from web import oparl as oparl_web
from web.users import update_user

SITE = "http://open.example"
ROOT = f"{SITE}/oparl/v1"
LISTS = ("organization", "person", "meeting", "paper", "agendaitem", "consultation", "file",
         "membership", "location", "legislativeterm")
# What the public may never read: the demo's lukket punkt's text and Bilag, and the
# not-public Bilag of an open case.
SECRETS = ("Forhandling om køb af en ejendom", "LUKKET-BILAG-TITEL", "LUKKET-BILAG-TEKST",
           "IKKE-OFFENTLIGT-TITEL", "IKKE-OFFENTLIGT-TEKST")
TRICKY_TITLE = 'Vejnavne; "Nørregade" og Ærø'


# -- the schemas -------------------------------------------------------------------------------

def registry() -> Registry:
    """The schema files by their $id and by the file names their $refs use."""
    resources = []
    for path in sorted(oparl_schemas().glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))  # System.json: a repeated key
        resource = Resource.from_contents(schema)
        resources += [(schema["$id"], resource), (schema["$id"] + ".json", resource)]
    return Registry().with_resources(resources)


def format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("url")
    def is_url(value) -> bool:  # OParl's own format
        return not isinstance(value, str) or value.startswith(("http://", "https://"))

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value) -> bool:
        return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None

    return checker


class Schemas:
    def __init__(self):
        self.registry, self.checker = registry(), format_checker()

    def validate(self, obj: dict) -> None:
        kind = obj["type"].rsplit("/", 1)[-1]
        schema = json.loads((oparl_schemas() / f"{kind}.json").read_text(encoding="utf-8"))
        if obj.get("deleted"):
            # The specification: a deleted object keeps id, type, created, modified and
            # deleted; anything else may be left out (File's accessUrl included).
            schema["required"] = ["id", "type", "created", "modified", "deleted"]
        Draft7Validator(schema, registry=self.registry,
                        format_checker=self.checker).validate(obj)


# -- the world: the demo, with Bilag, a lukket punkt published, and deletions -----------------

@pytest.fixture(scope="module")
def world(tmp_path_factory, migrated_sqlite):
    folder = tmp_path_factory.mktemp("oparl")
    url = migrated_sqlite(folder / "oparl.db")
    env = {"DATABASE_URL": url, "SAGSGANG_SECRET_KEY": "oparl-test-secret-key-0123456789abc",
           "SAGSGANG_VAR_DIR": str(folder), "SAGSGANG_SITE_URL": SITE,
           "SAGSGANG_OPARL_REQUESTS_PER_MINUTE": "100000"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        assert load_demo(url).loaded
        engine = make_engine(url)
        facts = build(engine)
        from web.app import create_app

        app = create_app(url)
        oparl_web.LIMIT.seen.clear()
        client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        yield {"client": client, "engine": engine, **facts}
        engine.dispose()
    get_settings.cache_clear()


def build(engine) -> dict:
    """Publish the agendas of today's demo cases (one a lukket punkt), give them Bilag, then
    remove one Bilag, end a membership and cancel a meeting."""
    today = local_day(utcnow())
    n = dict(zip(range(101, 108), numbers(today), strict=True))
    with write_session(engine) as session:
        closed_case, open_case = queries.get_case(session, n[107]), queries.get_case(
            session, n[101])
        files.attach(session, n[101], filename="aabent.pdf", title="ÅBENT-BILAG",
                     content=pdf_with_text("AABENT-BILAG-TEKST"), actor="sekretariat")
        removed = files.attach(session, n[101], filename="fjernes.pdf", title="FJERNES",
                               content=pdf_with_text("FJERNES-TEKST"), actor="sekretariat")
        files.attach(session, n[101], filename="internt.pdf", title="IKKE-OFFENTLIGT-TITEL",
                     content=pdf_with_text("IKKE-OFFENTLIGT-TEKST"), public=False,
                     actor="sekretariat")
        files.attach(session, n[107], filename="lukket.pdf", title="LUKKET-BILAG-TITEL",
                     content=pdf_with_text("LUKKET-BILAG-TEKST"), actor="sekretariat")
        tricky = services.create_case(session, {
            "number": "OPARL-1", "title": TRICKY_TITLE, "deciding_body": "SÆU",
            "committees": ["SÆU"], "centre": "Center for Voksne og Sundhed",
            "proposals": ["at navnene godkendes"]}, actor="sekretariat")
        actions.submit(session, "OPARL-1", actor="sekretariat")
        placed = {item.meeting_id for item in session.exec(select(
            meeting_queries.AgendaItem).where(meeting_queries.AgendaItem.case_id.in_(
                [closed_case.id, open_case.id])))}
        saeu = next(m for m in placed
                    if session.get(meeting_queries.Meeting, m).body_code == "SÆU")
        place_case(session, saeu, "OPARL-1")
        for meeting_id in placed:
            publish_agenda(session, meeting_id, actor="sekretariat")
        tricky_id = tricky.id
    before_changes = utcnow()
    with write_session(engine) as session:
        files.remove(session, n[101], removed.id, actor="sekretariat")
        member = session.exec(select(User).where(User.username == "su-medlem-3")).one()
        update_user(session, member.id, name=member.name, email=member.email,
                    role=member.role, bodies=[])
        later = [m for m in meeting_queries.meetings(session, body_code="KB")
                 if m.id not in placed]
        cancel_meeting(session, later[-1].id, reason="Ingen sager.")
        made = create_meeting(session, body="SU", day=today + timedelta(days=400))
    return {"closed_case": closed_case.id, "open_case": open_case.id,
            "removed_bilag": removed.id, "ended_member": member.id,
            "cancelled": later[-1].id, "made": made.id, "before_changes": before_changes,
            "saeu": saeu, "tricky": tricky_id}


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def links_in(value) -> list[str]:
    """Every address of this site in an answer (ids, lists, files, pages)."""
    if isinstance(value, dict):
        return [u for v in value.values() for u in links_in(v)]
    if isinstance(value, list):
        return [u for v in value for u in links_in(v)]
    if isinstance(value, str) and value.startswith(SITE):
        return [value.split("#")[0]]
    return []


def objects_in(value) -> list[dict]:
    """The OParl objects in an answer, embedded ones too."""
    if isinstance(value, dict):
        found = [value] if str(value.get("type", "")).startswith("https://schema.oparl") \
            else []
        return found + [o for v in value.values() for o in objects_in(v)]
    if isinstance(value, list):
        return [o for v in value for o in objects_in(v)]
    return []


@pytest.fixture(scope="module")
def crawl(world):
    return crawl_from(world["client"])


def crawl_from(client) -> dict:
    """From the System, every link followed once: {url: (status, content type, text,
    bytes)}."""
    seen, queue = {}, deque([ROOT])
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(path_of(url))
        seen[url] = (response.status_code, response.headers.get("content-type", ""),
                     response.text if "json" in response.headers.get("content-type", "")
                     or "html" in response.headers.get("content-type", "") else "",
                     response.content)
        if response.headers.get("content-type", "").startswith("application/json"):
            queue.extend(u for u in links_in(response.json()) if u not in seen)
    return seen


def json_answers(crawl) -> dict[str, dict]:
    return {url: json.loads(text) for url, (status, kind, text, _) in crawl.items()
            if kind.startswith("application/json")}


def all_objects(crawl) -> list[dict]:
    return [o for answer in json_answers(crawl).values() for o in objects_in(answer)]


def by_type(crawl, kind: str) -> dict[str, dict]:
    return {o["id"]: o for o in all_objects(crawl) if o["type"].endswith("/" + kind)}


# -- the crawl ---------------------------------------------------------------------------------

def test_every_link_resolves_and_the_crawl_reaches_the_files(crawl):
    broken = {url: status for url, (status, *_) in crawl.items() if status != 200}
    assert broken == {}
    kinds = {o["type"].rsplit("/", 1)[-1] for o in all_objects(crawl)}
    assert kinds == {"System", "Body", "Organization", "Person", "Membership", "Meeting",
                     "AgendaItem", "Paper", "Consultation", "File", "Location",
                     "LegislativeTerm"}
    # A File's accessUrl is the site's Bilag download, and it serves the file.
    downloads = [u for u in crawl if "/bilag/" in u]
    assert downloads and all(crawl[u][3].startswith(b"%PDF") for u in downloads)


def test_every_object_is_valid_by_the_oparl_schemas(crawl):
    schemas = Schemas()
    objects = all_objects(crawl)
    assert len(objects) > 100
    for obj in objects:
        schemas.validate(obj)


def test_every_object_has_created_and_modified_and_its_own_address(crawl):
    answers = json_answers(crawl)
    for obj in all_objects(crawl):
        assert obj["created"] and obj["modified"], obj["id"]
        assert datetime.fromisoformat(obj["modified"]) >= \
            datetime.fromisoformat(obj["created"]), obj
        # The object at its id is the object (embedded ones are the same).
        assert answers[obj["id"]]["id"] == obj["id"]


def test_closed_content_is_absent_everywhere(world, crawl):
    for url, (_, _, text, content) in crawl.items():
        for secret in SECRETS:
            assert secret not in text, (url, secret)
            assert secret.encode("latin-1") not in content, url  # the PDFs' text too
    papers = by_type(crawl, "Paper")
    closed = papers[f"{ROOT}/paper/{world['closed_case']}"]
    assert closed["name"] == "Køb af ejendom til nyt botilbud" and "auxiliaryFile" not in closed
    items = [o for o in by_type(crawl, "AgendaItem").values()
             if o["name"] == "Køb af ejendom til nyt botilbud"]
    assert items and all(o["public"] is False and "auxiliaryFile" not in o for o in items)
    # The open case shows its public Bilag, and only that one.
    opened = papers[f"{ROOT}/paper/{world['open_case']}"]
    assert [f["name"] for f in opened["auxiliaryFile"]] == ["ÅBENT-BILAG"]


def test_only_published_agendas_show_items(world, crawl):
    meetings = by_type(crawl, "Meeting")
    with read_session(world["engine"]) as session:
        for obj in meetings.values():
            meeting = session.get(meeting_queries.Meeting, int(obj["id"].rsplit("/", 1)[1]))
            published = meeting.agenda_status == "published"
            assert ("agendaItem" in obj) == published, obj["id"]


def test_no_email_and_only_members_are_people(world, crawl):
    for url, (_, _, text, _) in crawl.items():
        assert "@" not in text or "/bilag/" in url, url
    people = by_type(crawl, "Person")
    with read_session(world["engine"]) as session:
        members = set(session.exec(select(Membership.user_id)))
    assert {int(u.rsplit("/", 1)[1]) for u in people} <= members | {world["ended_member"]}
    assert "Sara Sekretær" not in " ".join(str(p.get("name")) for p in people.values())


# -- the list rules of the specification's prose -----------------------------------------------

def get(world, path: str, **params):
    response = world["client"].get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def every_page(world, url: str) -> list[dict]:
    found, pages = [], 0
    while url:
        page = world["client"].get(path_of(url)).json()
        found += page["data"]
        pages += 1
        assert page["links"]["first"] and page["links"]["self"]
        url = page["links"].get("next")
        assert pages < 500
    return found


@pytest.mark.parametrize("kind", LISTS)
def test_a_list_paged_small_holds_the_same_objects_once(world, kind):
    whole = get(world, f"/oparl/v1/body/kommune/{kind}", limit=1000)
    assert "next" not in whole["links"]
    paged = every_page(world, f"{ROOT}/body/kommune/{kind}?limit=2")
    assert [o["id"] for o in paged] == [o["id"] for o in whole["data"]]
    assert len({o["id"] for o in paged}) == len(paged)
    first = get(world, f"/oparl/v1/body/kommune/{kind}", limit=2)
    assert first["pagination"]["elementsPerPage"] == 2 and len(first["data"]) <= 2
    if "totalElements" in first["pagination"]:
        assert first["pagination"]["totalElements"] == len(paged)
        assert first["pagination"]["totalPages"] == max(1, -(-len(paged) // 2))
        assert first["links"]["last"].endswith(f"page={first['pagination']['totalPages']}"
                                               "&limit=2")
    if len(paged) > 2:
        assert "limit=2" in first["links"]["next"] and "prev" not in first["links"]


def test_modified_since_and_created_since_filter(world):
    since = world["before_changes"].isoformat()
    changed = get(world, "/oparl/v1/body/kommune/meeting", modified_since=since, limit=1000)
    ids = {o["id"] for o in changed["data"]}
    assert f"{ROOT}/meeting/{world['cancelled']}" in ids
    assert f"{ROOT}/meeting/{world['made']}" in ids
    everything = get(world, "/oparl/v1/body/kommune/meeting", limit=1000)["data"]
    assert len(ids) < len(everything)
    assert all(datetime.fromisoformat(o["modified"]) >= world["before_changes"]
               for o in changed["data"])
    made = get(world, "/oparl/v1/body/kommune/meeting", created_since=since)["data"]
    assert [o["id"] for o in made] == [f"{ROOT}/meeting/{world['made']}"]
    before = get(world, "/oparl/v1/body/kommune/meeting", created_until=since,
                 limit=1000)["data"]
    assert len(before) == len(everything) - 1
    # The filters stay in the links; Copenhagen time when no offset is given.
    page = get(world, "/oparl/v1/body/kommune/meeting", modified_since=since, limit=1)
    assert "modified_since=" in page["links"]["next"]
    local = get(world, "/oparl/v1/body/kommune/meeting", created_since="2100-01-01T00:00:00")
    assert local["data"] == []


def test_a_bad_filter_is_refused_in_danish_as_json(world):
    response = world["client"].get("/oparl/v1/body/kommune/meeting",
                                    params={"modified_since": "i går"})
    assert response.status_code == 400
    assert "modified_since skal være et tidspunkt" in response.json()["detail"]
    assert world["client"].get("/oparl/v1/meeting/999999").json() == {
        "detail": "Objektet findes ikke i de åbne data."}


def test_deleted_objects_stay_in_the_lists(world):
    files = every_page(world, f"{ROOT}/body/kommune/file?limit=1")
    removed = [f for f in files if f["id"] == f"{ROOT}/file/{world['removed_bilag']}"]
    assert removed and removed[0]["deleted"] is True and "accessUrl" not in removed[0]
    assert get(world, f"/oparl/v1/file/{world['removed_bilag']}")["deleted"] is True
    since = world["before_changes"].isoformat()
    changed = get(world, "/oparl/v1/body/kommune/file", modified_since=since)["data"]
    assert [f["id"] for f in changed] == [removed[0]["id"]]
    memberships = every_page(world, f"{ROOT}/body/kommune/membership?limit=3")
    ended = [m for m in memberships
             if m["id"] == f"{ROOT}/membership/{world['ended_member']}-SU"]
    assert ended and ended[0]["deleted"] is True
    cancelled = get(world, f"/oparl/v1/meeting/{world['cancelled']}")
    assert cancelled["cancelled"] is True and cancelled["meetingState"] == "Aflyst"


# -- caching, rate limit -----------------------------------------------------------------------

def test_an_unchanged_answer_is_304_by_its_etag(world):
    client = world["client"]
    first = client.get("/oparl/v1/body/kommune/meeting?limit=5")
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = client.get("/oparl/v1/body/kommune/meeting?limit=5",
                       headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = client.get("/oparl/v1/body/kommune/meeting?limit=4",
                       headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_past_the_rate_limit_it_answers_429_with_retry_after(world, monkeypatch):
    monkeypatch.setenv("SAGSGANG_OPARL_REQUESTS_PER_MINUTE", "3")
    get_settings.cache_clear()
    oparl_web.LIMIT.seen.clear()
    try:
        answers = [world["client"].get("/oparl/v1") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["detail"].startswith("For mange forespørgsler: højst 3 i minuttet")
        # The public pages are not counted.
        assert world["client"].get("/offentlig").status_code == 200
    finally:
        oparl_web.LIMIT.seen.clear()
        monkeypatch.setenv("SAGSGANG_OPARL_REQUESTS_PER_MINUTE", "100000")
        get_settings.cache_clear()


# -- the export of a meeting -------------------------------------------------------------------

def test_the_export_of_a_meeting_as_csv_and_json(world):
    client = world["client"]
    as_json = client.get(f"/offentlig/moeder/{world['saeu']}/eksport.json")
    assert as_json.status_code == 200
    rows = as_json.json()["punkter"]
    assert TRICKY_TITLE in [r["titel"] for r in rows]
    as_csv = client.get(f"/offentlig/moeder/{world['saeu']}/eksport.csv")
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.content.startswith("\ufeff".encode())  # for Excel on a Danish Windows
    text = as_csv.content.decode("utf-8-sig")
    assert '"Vejnavne; ""Nørregade"" og Ærø"' in text  # quoted: it holds ; and "
    parsed = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [{k: str(v) for k, v in r.items()} for r in rows] == parsed


def test_the_export_shows_a_lukket_punkt_as_number_title_and_decision(world):
    with read_session(world["engine"]) as session:
        item = session.exec(select(meeting_queries.AgendaItem).where(
            meeting_queries.AgendaItem.case_id == world["closed_case"])).one()
    for suffix in ("csv", "json"):
        response = world["client"].get(f"/offentlig/moeder/{item.meeting_id}/eksport.{suffix}")
        assert response.status_code == 200
        assert "Køb af ejendom til nyt botilbud" in response.text
        for secret in SECRETS:
            assert secret not in response.text
    rows = world["client"].get(f"/offentlig/moeder/{item.meeting_id}/eksport.json").json()
    assert [r["lukket"] for r in rows["punkter"] if r["titel"].startswith("Køb")] == ["ja"]


def test_the_export_of_an_unpublished_agenda_is_not_found(world):
    response = world["client"].get(f"/offentlig/moeder/{world['made']}/eksport.csv")
    assert response.status_code == 404


def test_the_bilag_rule_for_many_at_once_is_the_rule_for_each(world):
    """meetings.bilag.readable_of_many (a page's Bilag at once) answers as
    may_read_attachment does, Bilag by Bilag, for the public and for a member."""
    from cases.models import Attachment, Case
    from cases.settings import current_organisation
    from meetings.bilag import may_read_attachment, readable_of_many
    from workflow import access

    org = current_organisation()
    with read_session(world["engine"]) as session:
        bilag = list(session.exec(select(Attachment)))
        cases = {c.id: c for c in session.exec(select(Case))}
        for viewer in (access.PUBLIC, access.Viewer(role="member", bodies=frozenset({"SU"}))):
            each = [a.id for a in bilag
                    if may_read_attachment(org, session, cases[a.case_id], a, viewer)]
            assert [a.id for a in readable_of_many(org, session, cases, bilag, viewer)] == each
        assert len(each) > len([a for a in bilag if may_read_attachment(
            org, session, cases[a.case_id], a, access.PUBLIC)])


def test_the_page_size_is_the_servers_choice_within_limits(world):
    """`limit` is a wish: meetings (which carry their agendas) 20 a page by default and at
    most 100, the other lists 100 and at most 1000."""
    meetings = get(world, "/oparl/v1/body/kommune/meeting")
    assert meetings["pagination"]["elementsPerPage"] == 20 and len(meetings["data"]) == 20
    assert "limit=" not in meetings["links"]["next"]
    assert get(world, "/oparl/v1/body/kommune/meeting",
               limit=5000)["pagination"]["elementsPerPage"] == 100
    assert get(world, "/oparl/v1/body/kommune/agendaitem")["pagination"][
        "elementsPerPage"] == 100
    assert get(world, "/oparl/v1/body/kommune/paper",
               limit=5000)["pagination"]["elementsPerPage"] == 1000


@pytest.mark.postgres
def test_the_demo_on_postgresql_crawls_valid_and_whole(pg_url, tmp_path, monkeypatch):
    for name, value in {"SAGSGANG_SITE_URL": SITE, "SAGSGANG_VAR_DIR": str(tmp_path),
                        "SAGSGANG_SECRET_KEY": "oparl-test-secret-key-0123456789abc",
                        "SAGSGANG_OPARL_REQUESTS_PER_MINUTE": "100000"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    assert load_demo(pg_url).loaded
    from web.app import create_app

    app = create_app(pg_url)
    try:
        crawled = crawl_from(TestClient(app, raise_server_exceptions=False))
    finally:
        app.state.engine.dispose()
    assert {url: status for url, (status, *_) in crawled.items() if status != 200} == {}
    schemas, objects = Schemas(), all_objects(crawled)
    for obj in objects:
        schemas.validate(obj)
    assert len(by_type(crawled, "AgendaItem")) == 13 and len(by_type(crawled, "Paper")) == 11
