"""Benchmark of the PDF: `python -m bench.pdf [--items N] [--rounds R]`.

Prints, never asserts: the PDF of an agenda of N items (default 30; their texts are the
seed's items, ../shared/seed, in turn) as `meetings.pdf.render_pdf` makes it from the
database (document context, Jinja2, WeasyPrint), next to the floor: WeasyPrint rendering the
very same HTML alone, with the same options. Seconds (median of R rounds), pages and pages/s.

Not yet: the "samlet dagsorden med bilag" (60 Bilag of 10 pages appended with pypdf) waits
for the Bilag files.
"""

import argparse
import io
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader

from cases import actions as case_actions
from cases import services as case_services
from cases.db import make_engine, migrate, read_session, write_session
from cases.organisation import load_organisation
from cases.settings import PROJECT_DIR
from meetings import services
from meetings.documents import meeting_context, render_context
from meetings.pdf import PDF_OPTIONS, render_pdf
from meetings.referat import parse_referat

SEED = PROJECT_DIR / ".." / "shared" / "seed" / "socialudvalget-2022-10-04.txt"
NOW = datetime(2022, 9, 1, 10, tzinfo=UTC)


def agenda(url: str, org, count: int) -> int:
    """A meeting of `count` case items, each with the texts of a seed item."""
    seed = [i for i in parse_referat(SEED.read_text(encoding="utf-8")).items if not i.standing]
    engine = make_engine(url)
    with write_session(engine) as session:
        meeting = services.create_meeting(session, body="SU", day="04-10-2022", org=org,
                                          place="Rådhuset", now=NOW)
        for n in range(count):
            item = seed[n % len(seed)]
            number = f"B-{n + 1}"
            case_services.create_case(session, {
                "number": number, "title": item.title, "centre": "Center for Voksne og Sundhed",
                "deciding_body": "SU", "summary": item.summary, "background": item.background,
                "presentation": item.presentation, "economy": item.economy,
                "proposals": item.proposals or ["Sagen tages til efterretning."],
                "attachments": [{"title": f"Bilag {k} til {item.title}"[:300],
                                 "recommended": k == 1} for k in range(1, 3)]},
                actor="bench", org=org, now=NOW)
            case_actions.submit(session, number, actor="bench", org=org, now=NOW)
            services.place_case(session, meeting.id, number, org=org, now=NOW)
        meeting_id = meeting.id
    engine.dispose()
    return meeting_id


def median_seconds(action, rounds: int) -> tuple[float, bytes]:
    found, result = [], b""
    for _ in range(rounds):
        start = time.perf_counter()
        result = action()
        found.append(time.perf_counter() - start)
    return statistics.median(found), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from weasyprint import HTML

    org = load_organisation(PROJECT_DIR / "config" / "ballerup.toml")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'pdf.db'}"
        migrate(url)
        meeting_id = agenda(url, org, args.items)
        engine = make_engine(url)

        def ours() -> bytes:
            with read_session(engine) as session:
                context = meeting_context(session, meeting_id, org=org)
            return render_pdf(context, org)

        with read_session(engine) as session:
            html = render_context(meeting_context(session, meeting_id, org=org), pdf=True)
        floor_s, _ = median_seconds(
            lambda: HTML(string=html, base_url=folder).write_pdf(**PDF_OPTIONS), args.rounds)
        ours_s, content = median_seconds(ours, args.rounds)
        engine.dispose()
    pages = len(PdfReader(io.BytesIO(content)).pages)
    print(f"PDF of a {args.items}-item agenda: {pages} pages, {len(content) // 1024} KB "
          f"(median of {args.rounds})")
    print(f"  meetings.pdf.render_pdf from the database: {ours_s:.2f} s, "
          f"{pages / ours_s:.1f} pages/s")
    print(f"  floor, WeasyPrint on the same HTML alone:  {floor_s:.2f} s, "
          f"{pages / floor_s:.1f} pages/s")
    print(f"  ratio: {ours_s / floor_s:.2f}x the floor")


if __name__ == "__main__":
    main()
