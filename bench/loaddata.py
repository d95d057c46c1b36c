"""The archive for the load test: N cases with their audit log, proposals, deadlines,
treatments, queue rows, hearings, and (for the most recent share) the meetings and agenda
items they were treated at, bulk-loaded: PostgreSQL by COPY, SQLite by executemany.

Rows are consistent with the models: every case has its `create` event with the flow's start
values (cases.services.current_flow reads them), events in order with the states they moved
between, a treatment for each treat/postpone event, `last_seq` = its latest event and
`notified_seq` = `last_seq` (history: the sweep has nothing to derive). A small share is
under way (draft, hearing, committee, finance, council, with the Awaiting rows of its stage);
the rest is closed, withdrawn or replaced. The most recent AGENDA_SHARE of the closed cases
was treated at meetings held here: published agendas, final minutes, one agenda item per
treatment, about ITEMS_PER_MEETING items a meeting (the calendar is denser than any real
one, so that each meeting still has an agenda of a real size). The older cases' treatments
are history without agenda items, as an import leaves them.
"""

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from cases.settings import current_organisation

CHUNK = 20_000  # cases per COPY round
AGENDA_SHARE = 0.1
ITEMS_PER_MEETING = 24
YEARS = 10
ACTIVE_STATES = ("draft", "hearing", "committee", "committee", "committee", "finance", "council")

COLUMNS = {
    "meeting": ("id", "body_code", "starts_at", "place", "status", "status_reason",
                "agenda_status", "minutes_status", "objection_deadline", "minutes_final_at",
                "created_at", "changed_seq", "notified_seq"),
    "case": ("id", "number", "title", "summary", "background", "presentation", "economy",
             "centre", "owner_name", "owner_email", "deciding_body", "committees",
             "confidential", "status", "finance_statement", "version", "replaced_by_id",
             "created_at", "updated_at", "last_seq", "notified_seq", "joint_bodies",
             "referral_return"),
    "case_event": ("id", "case_id", "seq", "at", "actor", "trigger", "from_state", "to_state",
                   "body", "reason", "payload"),
    "proposal": ("id", "case_id", "number", "text"),
    "deadline": ("id", "case_id", "due_date", "kind", "description", "legal_basis", "met_on"),
    "agenda_item": ("id", "meeting_id", "case_id", "standing", "number", "title", "text",
                    "closed", "late_reason", "supplementary", "attachments_note",
                    "published_in", "wording", "decision_text", "proposal_decisions",
                    "minority", "decided_at"),
    "treatment": ("id", "case_id", "event_id", "body_code", "body_name", "meeting_date",
                  "item_number", "agenda_item_id", "wording", "decision_text",
                  "proposal_decisions", "minority"),
    "awaiting": ("case_id", "body_code", "since", "delivered_at", "delivered_by"),
    "hearing": ("id", "case_id", "title", "deadline", "blocking", "opened_on", "closed_on"),
    "hearingparty": ("id", "hearing_id", "body_code", "name", "email"),
}
TABLES = tuple(COLUMNS)  # in foreign-key order

SUBJECTS = ("kvalitetsstandard for hjemmepleje", "budgetopfølgning", "anlægsbevilling til "
            "renovering af skole", "takster for dagtilbud", "lokalplan for boligområde",
            "tilsyn med plejecentre", "handleplan for klimatilpasning", "udbud af "
            "rengøring", "frivilligpolitik", "trafiksikkerhedsplan", "sundhedspolitik",
            "ældrepolitik", "boligsocial helhedsplan", "ansøgning om puljemidler",
            "evaluering af rehabiliteringsforløb", "serviceniveau for vintertjeneste")
OPENINGS = ("Godkendelse af", "Orientering om", "Høring om", "Beslutning om", "Status på")
SENTENCES = ("Sagen forelægges til politisk behandling efter aftale med forvaltningen.",
             "Forvaltningen har udarbejdet et forslag, der beskrives i sagsfremstillingen.",
             "Forslaget har været drøftet med de berørte parter.",
             "Der er ikke økonomiske konsekvenser ud over det allerede budgetlagte.",
             "Udvalget orienteres om udviklingen siden seneste behandling.",
             "Indstillingen bygger på erfaringerne fra de seneste to år.")
COMMITTEE_WORDINGS = ("anbefales", "godkendt", "indstilles_til_godkendelse")
DECIDING_WORDINGS = ("godkendt", "tiltraadt", "godkendt", "ikke_godkendt")
PLACE = "Rådhuset, mødelokale 1"


def to_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Shape:
    """The organisation's names the rows are made of."""
    centres: list[str]
    committees: list[str]
    names: dict[str, str]
    finance: str
    council: str
    owners: list[tuple[str, str, str]]  # (centre, name, email)

    @classmethod
    def of_organisation(cls, rng: random.Random) -> "Shape":
        org = current_organisation()
        centres = list(org.centres)
        owners = [(centre, f"Sagsbehandler {i}", f"sb{i}.{c}@kommune.example")
                  for c, centre in enumerate(centres) for i in range(1, 41)]
        return cls(centres=centres,
                   committees=[b.code for b in org.bodies if b.kind == "standing_committee"],
                   names={b.code: b.name for b in org.bodies},
                   finance=org.finance_committee.code, council=org.council.code,
                   owners=owners)


@dataclass
class Calendar:
    """The meetings of the recent share, opened as treatments need them: a body's meeting on
    the day a treatment wants takes about ITEMS_PER_MEETING items, then the next one that day
    (50 minutes later; the last of the day takes the rest). So each meeting lies on the day
    its treatments happened, never ahead of them (a body's one open meeting, filled before
    the next, drifted decades into the future at a million cases)."""
    rng: random.Random
    next_id: int = 1
    open: dict = field(default_factory=dict)  # (body, day) -> [meeting id, starts_at, items, room]
    new_rows: list = field(default_factory=list)

    def item_slot(self, body: str, wanted: datetime) -> tuple[int, datetime, int]:
        key = (body, wanted.date())
        current = self.open.get(key)
        if current is None or (current[2] >= current[3] and current[1].hour < 22):
            first = datetime.combine(wanted.date(), time(5), tzinfo=UTC)
            starts = current[1] + timedelta(minutes=50) if current else first
            current = [self.next_id, starts, 0, self.rng.randint(ITEMS_PER_MEETING // 2,
                                                                  ITEMS_PER_MEETING * 3 // 2)]
            self.open[key] = current
            self.next_id += 1
            self.new_rows.append((current[0], body, starts, PLACE, "planned", "", "published",
                                  "final", starts.date() + timedelta(days=8),
                                  starts + timedelta(days=9), starts - timedelta(days=60),
                                  0, 0))
        current[2] += 1
        return current[0], current[1], current[2]

    def take_new(self) -> list:
        rows, self.new_rows = self.new_rows, []
        return rows


@dataclass
class Counters:
    event: int = 0
    proposal: int = 0
    deadline: int = 0
    item: int = 0
    treatment: int = 0
    hearing: int = 0
    party: int = 0


class Generator:
    """Rows of `n_cases` cases in chunks of CHUNK, by id (oldest first); the last
    `active` cases are under way."""

    def __init__(self, n_cases: int, active: int, now: datetime, seed: int = 7):
        self.rng = random.Random(seed)
        self.n_cases, self.active, self.now = n_cases, active, now
        self.shape = Shape.of_organisation(self.rng)
        self.calendar = Calendar(self.rng)
        self.ids = Counters()
        self.history = n_cases - active
        self.first_with_agenda = int(self.history * (1 - AGENDA_SHARE)) + 1
        self.start = now - timedelta(days=YEARS * 365 + 200)
        self.active_numbers: list[str] = []
        # The case numbers the readers pick from: any case, archive and under way alike.
        self.sample_ids = set(self.rng.sample(range(1, n_cases + 1), min(5000, n_cases)))
        self.sample_numbers: list[str] = []

    def chunks(self):
        for first in range(1, self.n_cases + 1, CHUNK):
            rows = {table: [] for table in TABLES}
            for case_id in range(first, min(first + CHUNK, self.n_cases + 1)):
                if case_id > self.history:
                    self.active_case(rows, case_id)
                else:
                    self.closed_case(rows, case_id)
            rows["meeting"] = self.calendar.take_new()
            yield rows

    # -- one case ------------------------------------------------------------------------

    def case_row(self, rows, case_id: int, created: datetime, status: str, *,
                 owner=None) -> dict:
        rng, shape = self.rng, self.shape
        route = rng.sample(shape.committees, rng.choice((1, 1, 1, 2)))
        deciding = rng.choice((shape.council, route[0], route[0]))
        centre, owner_name, owner_email = owner or rng.choice(shape.owners)
        subject = rng.choice(SUBJECTS)
        number = f"{created.year}-{case_id:07d}"
        if case_id in self.sample_ids:
            self.sample_numbers.append(number)
        case = dict(id=case_id, number=number,
                    title=f"{rng.choice(OPENINGS)} {subject} {created.year}",
                    summary=" ".join(rng.sample(SENTENCES, 3)),
                    background=" ".join(rng.sample(SENTENCES, 2)),
                    presentation=" ".join(rng.sample(SENTENCES, 4)),
                    economy=SENTENCES[3], centre=centre, owner_name=owner_name,
                    owner_email=owner_email, deciding_body=deciding, committees=route,
                    confidential=rng.random() < 0.03, status=status, created_at=created)
        for n in (1, 2):
            self.ids.proposal += 1
            rows["proposal"].append((self.ids.proposal, case_id, n,
                                     f"at {subject} {'godkendes' if n == 1 else 'evalueres'}"))
        return case

    def start_payload(self, case: dict) -> dict:
        stage = "council" if case["deciding_body"] == self.shape.council else "committee"
        return {"deciding_body": case["deciding_body"], "committees": case["committees"],
                "joint_bodies": [], "deciding_stage": stage,
                "finance_body": self.shape.finance, "council_body": self.shape.council,
                "require_finance_statement": True}

    def closed_case(self, rows, case_id: int) -> None:
        rng = self.rng
        created = self.start + timedelta(days=YEARS * 365 * case_id / self.history,
                                         minutes=rng.randint(0, 600))
        final = rng.choices(("closed", "withdrawn", "replaced"), (94, 4, 2))[0]
        case = self.case_row(rows, case_id, created, final)
        log = Log(self, rows, case, created)
        log.add("create", None, "draft", payload=self.start_payload(case))
        log.add("add_deadline", "draft", "draft")
        log.add("submit", "draft", "committee")
        stops = self.stops(case)
        if final != "closed":
            stops = stops[:rng.randint(0, len(stops) - 1)]
        with_agenda = case_id >= self.first_with_agenda
        for body, from_state, to_state, wordings in stops:
            if rng.random() < 0.15:
                log.treat(body, from_state, from_state, "postpone", "udsat", with_agenda)
            log.treat(body, from_state, to_state, "treat", rng.choice(wordings), with_agenda)
        state = log.state
        if final == "closed":
            log.add("close", state, "closed")
        else:
            log.add("withdraw" if final == "withdrawn" else "replace", state, final,
                    reason="Sagen er erstattet af en ny sag." if final == "replaced"
                    else "Forslaget er trukket tilbage af forvaltningen.")
        log.pad(rng.randint(6, 14))
        log.finish(updated=log.at)
        self.deadline(rows, case_id, created.date() + timedelta(days=90),
                      met=created.date() + timedelta(days=80))

    def stops(self, case: dict) -> list[tuple[str, str, str, tuple]]:
        """Where the case is treated on its way: (body, from state, to state, wordings)."""
        route, shape = case["committees"], self.shape
        stops = [(body, "committee", "committee", COMMITTEE_WORDINGS) for body in route]
        if case["deciding_body"] == shape.council:
            stops[-1] = (route[-1], "committee", "finance", COMMITTEE_WORDINGS)
            stops += [(shape.finance, "finance", "council", ("anbefales",)),
                      (shape.council, "council", "decided", DECIDING_WORDINGS)]
        else:
            stops[-1] = (route[-1], "committee", "decided", DECIDING_WORDINGS)
        return stops

    def active_case(self, rows, case_id: int) -> None:
        rng = self.rng
        created = self.now - timedelta(days=rng.randint(5, 150), minutes=rng.randint(0, 600))
        status = rng.choice(ACTIVE_STATES)
        case = self.case_row(rows, case_id, created, status)
        if status in ("finance", "council"):  # only the council's cases pass through them
            case["deciding_body"] = self.shape.council
        log = Log(self, rows, case, created)
        log.add("create", None, "draft", payload=self.start_payload(case))
        log.add("add_deadline", "draft", "draft")
        if status != "draft":
            log.add("submit", "draft", "committee")
        if status in ("finance", "council"):
            for body, _, to_state, wordings in self.stops(case)[:-1]:
                if log.state != status:
                    log.treat(body, log.state, to_state, "treat", wordings[0], False)
        if status == "hearing":
            log.add("send_to_hearing", "committee", "hearing", body=case["committees"][0])
            self.hearing(rows, case_id, created.date() + timedelta(days=10))
        log.pad(rng.randint(3, 9))
        waiting = {"committee": case["committees"], "finance": [self.shape.finance],
                   "council": [self.shape.council]}.get(status, [])
        log.finish(updated=log.at)
        rows["awaiting"] += [(case_id, body, log.at, None, None) for body in waiting]
        self.deadline(rows, case_id, self.now.date() + timedelta(days=rng.randint(-30, 120)))
        self.active_numbers.append(case["number"])

    def deadline(self, rows, case_id: int, due: date, met: date | None = None) -> None:
        self.ids.deadline += 1
        rows["deadline"].append((self.ids.deadline, case_id, due, "statutory",
                                 "Kommunalbestyrelsens beslutning senest", "", met))

    def hearing(self, rows, case_id: int, opened: date) -> None:
        self.ids.hearing += 1
        rows["hearing"].append((self.ids.hearing, case_id, "Høring af de faste råd",
                                opened + timedelta(days=self.rng.randint(14, 40)), True,
                                opened, None))
        for code in ("HR", "SR"):
            self.ids.party += 1
            rows["hearingparty"].append((self.ids.party, self.ids.hearing, code,
                                         self.shape.names.get(code, code), ""))


class Log:
    """One case's audit events, treatments and agenda items, in order."""

    def __init__(self, gen: Generator, rows: dict, case: dict, created: datetime):
        self.gen, self.rows, self.case = gen, rows, case
        self.at, self.state, self.seq = created, None, 0
        self.events: list[list] = []

    def add(self, trigger: str, from_state, to_state: str, *, body=None, reason="",
            payload=None, at: datetime | None = None) -> int:
        self.at = max(at or self.at + timedelta(days=self.gen.rng.randint(1, 12)),
                      self.at + timedelta(minutes=1))
        self.seq += 1
        self.gen.ids.event += 1
        self.events.append([self.gen.ids.event, self.case["id"], self.seq, self.at, "import",
                            trigger, from_state, to_state, body, reason,
                            to_json(payload or {})])
        self.state = to_state
        return self.gen.ids.event

    def treat(self, body: str, from_state: str, to_state: str, trigger: str, wording: str,
              with_agenda: bool) -> None:
        gen, case = self.gen, self.case
        wanted = self.at + timedelta(days=gen.rng.randint(7, 30))
        item_id = number = None
        if with_agenda:
            meeting_id, starts, number = gen.calendar.item_slot(body, wanted)
            self.add("place_on_agenda", self.state, self.state, body=body,
                     at=starts - timedelta(days=7))
            wanted = starts
            gen.ids.item += 1
            item_id = gen.ids.item
            self.rows["agenda_item"].append((
                item_id, meeting_id, case["id"], None, number, case["title"], "",
                case["confidential"], "", False, "", None, wording, "", "[]", "", starts))
        event_id = self.add(trigger, from_state, to_state, body=body, at=wanted,
                            payload={"wording": wording})
        gen.ids.treatment += 1
        self.rows["treatment"].append((
            gen.ids.treatment, case["id"], event_id, body, gen.shape.names[body],
            wanted.date(), number, item_id, wording, "", "[]", ""))

    def pad(self, total: int) -> None:
        """Events that move no state (edits, deadlines met) up to `total`, before the last."""
        while self.seq < total:
            self.add("edit_case", self.state, self.state, reason="Ændret: Sagsfremstilling",
                     payload={"fields": ["presentation"], "values": {}})

    def finish(self, updated: datetime) -> None:
        case = self.case
        case.update(committees=to_json(case["committees"]), finance_statement=False,
                    version=self.seq, replaced_by_id=None, updated_at=updated,
                    last_seq=self.seq, notified_seq=self.seq, joint_bodies="[]",
                    referral_return=None)
        self.rows["case"].append(tuple(case[c] for c in COLUMNS["case"]))
        self.rows["case_event"] += [tuple(e) for e in self.events]


# -- writing -------------------------------------------------------------------------------

def copy_postgresql(url: str, generator: Generator, progress=print) -> None:
    """COPY every chunk's rows, table by table in foreign-key order, then VACUUM (ANALYZE)
    and move the id sequences past the rows."""
    import psycopg

    with psycopg.connect(_libpq_url(url), autocommit=False) as conn:
        conn.execute("SET synchronous_commit = off")
        for n, rows in enumerate(generator.chunks(), 1):
            for table in TABLES:
                if not rows[table]:
                    continue
                columns = ", ".join(f'"{c}"' for c in COLUMNS[table])
                with conn.cursor().copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                    for row in rows[table]:
                        copy.write_row(row)
            conn.commit()
            if n % 10 == 0:
                progress(f"  {min(n * CHUNK, generator.n_cases):,} cases loaded")
        conn.autocommit = True
        for table in TABLES:
            # Vacuumed as a database in service is: visibility map set (index-only scans),
            # and no autovacuum of ten million fresh rows during the measurements.
            conn.execute(f'VACUUM (ANALYZE) "{table}"')
            if "id" in COLUMNS[table]:
                conn.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                             f"coalesce((SELECT max(id) FROM \"{table}\"), 0) + 1, false)")


def insert_sqlite(url: str, generator: Generator, progress=print) -> None:
    import sqlite3

    conn = sqlite3.connect(url.split("///", 1)[1])
    try:
        conn.execute("PRAGMA synchronous = OFF")
        for n, rows in enumerate(generator.chunks(), 1):
            for table in TABLES:
                if rows[table]:
                    marks = ", ".join("?" * len(COLUMNS[table]))
                    columns = ", ".join(f'"{c}"' for c in COLUMNS[table])
                    conn.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})',
                                     ([_sqlite_value(v) for v in row] for row in rows[table]))
            conn.commit()
            if n % 10 == 0:
                progress(f"  {min(n * CHUNK, generator.n_cases):,} cases loaded")
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


def _sqlite_value(value):
    """As SQLAlchemy stores it on SQLite: naive UTC datetimes, ISO dates."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
