"""Benchmark of Følg uden konto: `python -m bench.citizens [--items N] [--followers N]`.

Prints, never asserts. One published agenda of N items (default 20, each case about 2,000
words) on SQLite, and the beat's sweep of it (notifications.changes.notify_changed_meetings):
the body's digest for F citizens following the body, and the search-phrase mails for F
citizens with a phrase each, in three cases: every phrase different and one item matching
each, every phrase different and matching no item, and one phrase for all, matching every
item (the mails' snippets are the work then).
"""

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import func, select

from cases import actions, services
from cases.db import make_engine, migrate, read_session, write_session
from cases.models import utcnow
from meetings.services import create_meeting, place_case, publish_agenda
from notifications import citizens
from notifications.changes import notify_changed_meetings
from notifications.models import Reminder

TEXT = " ".join(["Kommunen vedtager planen for området ved skolen og stien langs vejen"] * 160)
CASES = {"each its own, one item each": lambda i: f"Vestvolden{i}",
         "each its own, no item": lambda i: f"Kildedal{i}",
         "one for all, every item": lambda i: "planen"}


def run(folder: Path, items: int, followers: int, phrase) -> tuple[float, int]:
    url = f"sqlite:///{folder / 'citizens.db'}"
    migrate(url)
    engine = make_engine(url)
    now = utcnow()
    with write_session(engine) as session:
        meeting = create_meeting(session, body="SU", day=now.date() + timedelta(days=40))
        for n in range(items):
            number = f"B-{n}"
            services.create_case(session, {
                "number": number, "title": f"Sag {n} ved Vestvolden{n}",
                "centre": "Center for By og Miljø", "deciding_body": "KB",
                "committees": ["SU"], "summary": TEXT, "proposals": ["at sagen godkendes"]},
                actor="bench")
            actions.submit(session, number, actor="bench")
            place_case(session, meeting.id, number)
        for i in range(followers):
            for email, fields in ((f"b{i}@example.org", {"body_code": "SU"}),
                                  (f"s{i}@example.org", {"phrase": phrase(i)})):
                row = citizens.sign_up(session, email=email, now=now, **fields)
                citizens.confirm(session, row, now)
    notify_changed_meetings(engine)  # the meeting's own changes, before the publication
    with write_session(engine) as session:
        publish_agenda(session, meeting.id, actor="bench")
    started = time.perf_counter()
    notify_changed_meetings(engine)
    took = time.perf_counter() - started
    with read_session(engine) as session:
        mails = session.exec(select(func.count()).select_from(Reminder).where(
            Reminder.kind.in_(["follow-agenda", "follow-search"]))).one()
    engine.dispose()
    return took, mails


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--followers", type=int, default=1000)
    args = parser.parse_args()
    print(f"one agenda of {args.items} items; {args.followers} body and "
          f"{args.followers} phrase followers")
    for name, phrase in CASES.items():
        with tempfile.TemporaryDirectory() as folder:
            took, mails = run(Path(folder), args.items, args.followers, phrase)
        print(f"  phrases {name}: sweep {took:.2f} s, {mails} mails queued")


if __name__ == "__main__":
    main()
