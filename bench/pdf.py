"""Benchmark of the PDF: `python -m bench.pdf [--items N] [--rounds R]`.

Prints, never asserts: the PDF of an agenda of N items (default 30; their texts are the
seed's items, ../shared/seed, in turn) as `meetings.pdf.render_pdf` makes it from the
database (document context, Jinja2, WeasyPrint), next to the floor: WeasyPrint rendering the
very same HTML alone, with the same options. Seconds (median of R rounds), pages and pages/s.

And the "samlet dagsorden med bilag" (each item with 2 Bilag PDFs of 10 pages, appended by
`meetings.pdf.with_bilag`, the public's), next to its floor: WeasyPrint alone on the same HTML
and the same Bilag files appended by pypdf without bookmarks or access checks.
"""

import argparse
import io
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from cases import actions as case_actions
from cases import files
from cases import services as case_services
from cases.db import make_engine, migrate, read_session, write_session
from cases.organisation import load_organisation
from cases.settings import PROJECT_DIR, get_settings
from meetings import services
from meetings.documents import meeting_context, render_context
from meetings.pdf import PDF_OPTIONS, render_pdf, with_bilag
from meetings.referat import parse_referat
from workflow.access import PUBLIC

SEED = PROJECT_DIR / ".." / "shared" / "seed" / "socialudvalget-2022-10-04.txt"
NOW = datetime(2022, 9, 1, 10, tzinfo=UTC)


def bilag_files(count: int) -> list[bytes]:
    """`count` different PDFs of 10 pages (one rendered, told apart by their metadata)."""
    from weasyprint import HTML

    pages = "".join(f'<p style="break-after: page">Side {n} af bilaget. {"Tekst. " * 200}</p>'
                    for n in range(1, 11))
    base = HTML(string=pages).write_pdf()
    made = []
    for n in range(count):
        writer = PdfWriter(clone_from=io.BytesIO(base))
        writer.add_metadata({"/Title": f"Bilag {n + 1}"})
        out = io.BytesIO()
        writer.write(out)
        made.append(out.getvalue())
    return made


def agenda(url: str, org, count: int) -> int:
    """A meeting of `count` case items, each with the texts of a seed item and 2 Bilag PDFs
    of 10 pages."""
    pdfs = bilag_files(2 * count)
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
            for k in range(2):
                files.attach(session, number, filename=f"bilag-{k + 1}.pdf",
                             content=pdfs[2 * n + k], title=f"Bilag {k + 1} til {number}",
                             actor="bench")
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
        os.environ["SAGSGANG_ATTACHMENT_DIR"] = str(Path(folder) / "bilag")
        get_settings.cache_clear()
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

        def samlet() -> bytes:
            with read_session(engine) as session:
                context = meeting_context(session, meeting_id, org=org, public=True)
                return with_bilag(session, render_pdf(context, org), context, PUBLIC, org)

        appended = [p.read_bytes() for p in sorted((Path(folder) / "bilag").rglob("*"))
                    if p.is_file()]

        def samlet_floor() -> bytes:
            writer = PdfWriter(clone_from=io.BytesIO(
                HTML(string=html, base_url=folder).write_pdf(**PDF_OPTIONS)))
            for pdf in appended:
                writer.append(io.BytesIO(pdf), import_outline=False)
            out = io.BytesIO()
            writer.write(out)
            return out.getvalue()

        samlet_floor_s, _ = median_seconds(samlet_floor, args.rounds)
        samlet_s, whole = median_seconds(samlet, args.rounds)
        engine.dispose()
    pages = len(PdfReader(io.BytesIO(content)).pages)
    print(f"PDF of a {args.items}-item agenda: {pages} pages, {len(content) // 1024} KB "
          f"(median of {args.rounds})")
    print(f"  meetings.pdf.render_pdf from the database: {ours_s:.2f} s, "
          f"{pages / ours_s:.1f} pages/s")
    print(f"  floor, WeasyPrint on the same HTML alone:  {floor_s:.2f} s, "
          f"{pages / floor_s:.1f} pages/s")
    print(f"  ratio: {ours_s / floor_s:.2f}x the floor")
    whole_pages = len(PdfReader(io.BytesIO(whole)).pages)
    print(f"Samlet dagsorden med bilag ({len(appended)} Bilag): {whole_pages} pages, "
          f"{len(whole) // 1024} KB")
    print(f"  meetings.pdf.with_bilag after render_pdf: {samlet_s:.2f} s, "
          f"{whole_pages / samlet_s:.1f} pages/s")
    print(f"  floor, WeasyPrint alone + pypdf append:   {samlet_floor_s:.2f} s, "
          f"{whole_pages / samlet_floor_s:.1f} pages/s")
    print(f"  ratio: {samlet_s / samlet_floor_s:.2f}x the floor")


if __name__ == "__main__":
    main()
