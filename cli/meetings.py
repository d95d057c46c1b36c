"""`sagsgang meeting ...`, `sagsgang plan CASE` and `sagsgang import-referat FILE`.

Registered by cli.main (one add_command line for all groups). A meeting is named by its id or
as BODY:DATE, e.g. SU:04-10-2022.
"""

from pathlib import Path

import click

from cases import clock
from cases.dates import format_date, parse_date
from cases.db import get_engine, read_session, write_session
from cases.settings import current_organisation
from cli.common import ACTOR_HELP, user_errors
from meetings import documents, pdf, queries, services
from meetings.attendance import (
    VOTE_ABSTAIN,
    VOTE_AGAINST,
    VOTE_FOR,
    NoteEntry,
    VoteEntry,
    attendance_entries,
    split_names,
)
from meetings.calendar import local_day
from meetings.importer import import_referat
from meetings.models import (
    AGENDA_STATUSES,
    MINUTES_STATUSES,
)
from meetings.plan import load_plan
from meetings.referat_web import read_referat
from workflow import access, decisions
from workflow.errors import InvalidInput


def resolve_meeting(session, ref: str):
    """A meeting by id ("12") or by body and date ("SU:04-10-2022")."""
    if ref.isdigit():
        return queries.get_meeting(session, int(ref))
    body, _, day = ref.partition(":")
    if not day:
        raise InvalidInput(f"Angiv mødet som id eller ORGAN:DATO, fx SU:04-10-2022 (fik {ref!r}).")
    return queries.meeting_by_body_day(session, current_organisation().body(body).code,
                                       parse_date(day))


@click.group("meeting")
def meeting():
    """Møder: mødeplan, dagsorden, beslutninger, referat og godkendelse."""


@meeting.command("import-plan")
@click.argument("path", type=click.Path(dir_okay=False))
@user_errors
def import_plan_command(path):
    """Indlæs en mødeplan (TOML eller CSV); møder, der findes, springes over."""
    org = current_organisation()
    plan = load_plan(Path(path), org)
    with write_session() as session:
        created, existing = services.import_plan(session, plan, org=org)
    click.echo(f"{len(created)} møder oprettet, {existing} fandtes allerede.")


@meeting.command("list")
@click.option("--body", default=None, help="Kun dette organ (fx SU).")
@click.option("--all", "include_cancelled", is_flag=True, help="Medtag aflyste møder.")
@user_errors
def list_command(body, include_cancelled):
    """List møder med dagsordenens og referatets status."""
    with read_session() as session:
        found = queries.meetings(session, body_code=body, include_cancelled=include_cancelled)
        for m in found:
            count = len(queries.items(session, m.id))
            click.echo(f"{m.id:>4} {m.body_code:<5} {format_date(m.starts_at)} "
                       f"{queries.status_label(m, clock.today()):<9} dagsorden: "
                       f"{AGENDA_STATUSES[m.agenda_status]:<18} referat: "
                       f"{MINUTES_STATUSES[m.minutes_status]:<14} {count} punkter")
    if not found:
        click.echo("Ingen møder.")


@meeting.command("create")
@click.option("--body", required=True, help="Organets forkortelse (fx SU).")
@click.option("--date", "day", required=True, help="Mødedato, fx 04-10-2022.")
@click.option("--time", "at", default=None, help="Klokkeslæt (standard: organets mødetid).")
@click.option("--place", default="", help="Mødested.")
@user_errors
def create_command(body, day, at, place):
    """Opret et møde."""
    with write_session() as session:
        found = services.create_meeting(session, body=body, day=day, at=at, place=place)
    click.echo(f"Møde {found.id} oprettet: {found.body_code} {format_date(found.starts_at)}.")


@meeting.command("move")
@click.argument("ref")
@click.option("--date", "day", required=True, help="Ny mødedato.")
@click.option("--time", "at", default=None, help="Nyt klokkeslæt.")
@click.option("--reason", required=True, help="Begrundelse.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def move_command(ref, day, at, reason, actor):
    """Flyt et møde; punkterne på dagsordenen følger med."""
    with write_session() as session:
        found = services.move_meeting(session, resolve_meeting(session, ref).id, day=day, at=at,
                                      reason=reason, actor=actor)
    click.echo(f"Mødet er flyttet til {format_date(found.starts_at)}.")


@meeting.command("cancel")
@click.argument("ref")
@click.option("--reason", required=True, help="Begrundelse.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def cancel_command(ref, reason, actor):
    """Aflys et møde; sagerne på det går tilbage i organets kø."""
    with write_session() as session:
        returned = services.cancel_meeting(session, resolve_meeting(session, ref).id,
                                           reason=reason, actor=actor)
    click.echo("Mødet er aflyst.")
    if returned:
        click.echo("Tilbage i køen: " + ", ".join(returned))


@meeting.command("queue")
@click.argument("body")
@user_errors
def queue_command(body):
    """Organets kø: sager, der afventer behandling, og hvilken dagsorden de står på."""
    code = current_organisation().body(body).code
    with read_session() as session:
        entries = queries.agenda_queue(session, code)
        for e in entries:
            where = (f"på dagsordenen {format_date(e.placed_on.starts_at)}" if e.placed_on
                     else "mangler dagsorden")
            click.echo(f"{e.case.number:<18} {e.case.title[:50]:<50} siden "
                       f"{format_date(e.since)}  {where}")
    if not entries:
        click.echo(f"Ingen sager afventer behandling i {code}.")


@meeting.command("place")
@click.argument("ref")
@click.argument("number")
@click.option("--closed/--open", default=None, help="Lukket punkt (standard: sagens egen).")
@click.option("--late-reason", default="", help="Begrundelse, hvis fristen er overskredet.")
@click.option("--efterregistreret", "afterwards", is_flag=True,
              help="Mødet er afholdt og registreres efterfølgende (dagsorden og beslutninger "
                   "som historik; ingen påmindelser eller nyheder).")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def place_command(ref, number, closed, late_reason, afterwards, actor):
    """Sæt en sag fra køen på mødets dagsorden."""
    with write_session() as session:
        item = services.place_case(session, resolve_meeting(session, ref).id, number,
                                   closed=closed, late_reason=late_reason, actor=actor,
                                   afterwards=afterwards)
    extra = " (tillægsdagsorden)" if item.supplementary else ""
    extra += " (registreret efterfølgende)" if afterwards else ""
    click.echo(f"Sag {number} er punkt {item.number}{extra}.")


@meeting.command("standing")
@click.argument("ref")
@click.argument("kind", type=click.Choice(["meddelelser", "godkendelse_af_referat",
                                           "orientering"]))
@click.option("--text", default="", help="Beskrivelse.")
@click.option("--title", default="", help="Titel på et orienteringspunkt (standard: Orientering).")
@user_errors
def standing_command(ref, kind, text, title):
    """Tilføj et punkt uden sag: Meddelelser, Godkendelse af referat eller et
    orienteringspunkt (fx et råds egne sager), på ethvert organs dagsorden."""
    with write_session() as session:
        item = services.add_standing_item(session, resolve_meeting(session, ref).id, kind,
                                          text=text, title=title)
    click.echo(f"Punkt {item.number}: {item.title}.")


@meeting.command("publish")
@click.argument("ref")
@click.option("--late-reason", default="",
              help="Begrundelse, hvis fristen for at udsende dagsordenen er overskredet.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def publish_command(ref, late_reason, actor):
    """Lås og offentliggør dagsordenen (senere: en tillægsdagsorden)."""
    with write_session() as session:
        publication = services.publish_agenda(session, resolve_meeting(session, ref).id,
                                              actor=actor, late_reason=late_reason)
    # Its PDFs are kept as published at once (no web request waits here; the worker would
    # make them within a sweep otherwise).
    pdf.keep_publication(get_engine(), publication.id)
    label = "Dagsordenen" if publication.kind == "dagsorden" else "Tillægsdagsordenen"
    late = f" efter fristen: {publication.late_reason}" if publication.late_reason else ""
    click.echo(f"{label} er offentliggjort (udgave {publication.seq}){late}.")


@meeting.command("decide")
@click.argument("ref")
@click.argument("item_number", type=int)
@click.option("--decision", "wording", required=True, help="Beslutning, fx Godkendt, Udsat.")
@click.option("--text", "decision_text", default="", help="Beslutningens tekst.")
@click.option("--proposal", "--proposal-decision", "proposals", multiple=True,
              help='Beslutning pr. indstillingspunkt som N=tekst, fx 1="Godkendt" '
                   "(kan gentages).")
@click.option("--minority", default="", help="Mindretallets holdning.")
@click.option("--to", "bodies", multiple=True,
              help="Fagudvalg (sendes tilbage, henvist til fagudvalg; kan gentages).")
@click.option("--finance-again/--no-finance-again", default=None,
              help="Henvist af kommunalbestyrelsen: behandler økonomiudvalget sagen igen? "
                   "(standard: organisationens indstilling)")
@click.option("--reason", default="", help="Begrundelse.")
@click.option("--replaced-by", default=None, help="Den nye sags nummer (Ny sag forelægges).")
@click.option("--hearing-title", default="", help="Høringens titel (Godkendt og sendes i høring).")
@click.option("--hearing-party", "hearing_parties", multiple=True,
              help='Høringspart: et råds forkortelse (HR), et navn eller "Navn <e-mail>" '
                   "(kan gentages).")
@click.option("--hearing-deadline", default="", help="Høringsfrist, fx 01-11-2022.")
@click.option("--hearing-opens", default="", help="Høringen åbner (standard: mødedagen).")
@click.option("--to-meeting", default=None,
              help="Udsat til et møde: «næste» (organets næste møde), en dato (08-11-2022) "
                   "eller mødets id; sagen sættes på dets dagsorden.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def decide_command(ref, item_number, wording, decision_text, proposals, minority, bodies,
                   reason, replaced_by, hearing_title, hearing_parties, hearing_deadline,
                   hearing_opens, to_meeting, finance_again, actor):
    """Registrér beslutningen på et punkt; sagen går videre i sagsgangen.

    "Godkendt og sendes i høring" åbner høringen (--hearing-title, --hearing-party,
    --hearing-deadline); "Ny sag forelægges" kræver --replaced-by.
    """
    proposal_decisions = []
    for raw in proposals:
        number, _, text = raw.partition("=")
        if not number.strip().isdigit() or not text.strip():
            raise InvalidInput(f"Skriv beslutning pr. punkt som N=tekst (fik {raw!r}).")
        proposal_decisions.append({"number": int(number), "text": text.strip()})
    found_wording = decisions.wording(wording)
    parties = [p.strip() for p in hearing_parties if p.strip()]
    hearing_given = bool(parties or hearing_title.strip() or hearing_deadline.strip()
                         or hearing_opens.strip())
    if hearing_given and found_wording and found_wording.trigger == "send_to_hearing" \
            and not hearing_deadline.strip():
        raise InvalidInput("Angiv høringsfristen med --hearing-deadline (dd-mm-åååå).")
    with write_session() as session:
        found = resolve_meeting(session, ref)
        item = queries.item_by_number(session, found.id, item_number)
        hearing = {"title": hearing_title, "parties": parties, "deadline": hearing_deadline,
                   "opened_on": hearing_opens.strip() or local_day(found.starts_at)} \
            if hearing_given else None
        services.record_item_decision(session, item.id, wording=wording, actor=actor,
                                      decision_text=decision_text,
                                      proposal_decisions=proposal_decisions, minority=minority,
                                      bodies=list(bodies), reason=reason,
                                      replaced_by=replaced_by, hearing=hearing,
                                      to_meeting=to_meeting, finance_again=finance_again)
    click.echo(f"Beslutning registreret på punkt {item_number}.")


@meeting.command("absent")
@click.argument("ref")
@click.option("--name", default="", help="Medlemmets navn.")
@click.option("--user", "username", default=None, help="Medlemmets brugernavn.")
@click.option("--note", default="", help="Bemærkning (fx sygdom).")
@user_errors
def absent_command(ref, name, username, note):
    """Registrér et fraværende medlem."""
    with write_session() as session:
        absence = services.record_absence(session, resolve_meeting(session, ref).id, name=name,
                                          username=username, note=note)
    click.echo(f"{absence.name} er registreret som fraværende.")


@meeting.command("attendance")
@click.argument("ref")
@click.option("--present", multiple=True,
              help='Deltog: «Navn (Parti)», flere adskilt med komma (kan gentages).')
@click.option("--apologies", multiple=True, help="Afbud: som --present.")
@click.option("--absent", multiple=True, help="Fraværende: som --present.")
@click.option("--substitute", multiple=True,
              help='Stedfortræder eller suppleant: «Navn (Parti) for Medlem» (kan gentages).')
@click.option("--not-under", multiple=True,
              help='Deltog ikke under punkterne: «Navn:20-21» (kan gentages).')
@user_errors
def attendance_command(ref, present, apologies, absent, substitute, not_under):
    """Registrér mødets fremmøde, som referatet skal vise det; erstatter det registrerede.
    Uden tilvalg: vis fremmødet."""
    if present or apologies or absent or substitute or not_under:
        entries = attendance_entries(present=present, apologies=apologies, absent=absent,
                                     substitutes=substitute, not_under=not_under)
        with write_session() as session:
            services.record_attendance(session, resolve_meeting(session, ref), entries)
    with read_session() as session:
        shown = documents.attendance_context(session, resolve_meeting(session, ref))
    for label, key in (("Deltog", "present"), ("Afbud", "apologies"),
                       ("Fraværende", "absent")):
        click.echo(f"{label}: " + ("; ".join(p["label"] for p in shown[key]) or "ingen"))


@meeting.command("vote")
@click.argument("ref")
@click.argument("item_number", type=int)
@click.option("--proposal", type=int, default=None,
              help="Indstillingens punkt, der stemmes om (standard: punktet som helhed).")
@click.option("--for", "voted_for", multiple=True,
              help="Stemte for: medlemmer (navn eller brugernavn) eller partier, adskilt med "
                   "komma (kan gentages).")
@click.option("--against", multiple=True, help="Stemte imod: som --for.")
@click.option("--abstain", multiple=True, help="Undlod at stemme: som --for.")
@click.option("--for-count", type=int, default=None,
              help="Antal stemmer for (standard: talt af navnene; et parti med sine "
                   "deltagere).")
@click.option("--against-count", type=int, default=None, help="Antal stemmer imod.")
@click.option("--abstain-count", type=int, default=None, help="Antal, der undlod.")
@user_errors
def vote_command(ref, item_number, proposal, voted_for, against, abstain, for_count,
                 against_count, abstain_count):
    """Registrér afstemningen om et punkt (eller et af indstillingens punkter); erstatter en
    tidligere registrering af samme afstemning."""
    entry = VoteEntry(proposal=proposal, names={
        VOTE_FOR: split_names(voted_for), VOTE_AGAINST: split_names(against),
        VOTE_ABSTAIN: split_names(abstain)}, counts={
        VOTE_FOR: for_count, VOTE_AGAINST: against_count, VOTE_ABSTAIN: abstain_count})
    with write_session() as session:
        found = resolve_meeting(session, ref)
        item = queries.item_by_number(session, found.id, item_number)
        services.record_vote(session, item.id, entry)
        votes = documents.items_minutes(session, found, [item])[item.id]["votes"]
    text = next(v["text"] for v in votes if v["proposal"] == proposal)
    click.echo(f"Afstemning registreret på punkt {item_number}: {text}")


@meeting.command("note")
@click.argument("ref")
@click.argument("item_number", type=int)
@click.option("--kind", required=True,
              type=click.Choice(["mindretal", "forbehold", "protokol"]),
              help="Mindretalsudtalelse, forbehold eller protokolbemærkning.")
@click.option("--who", required=True, help="Hvem den er fra: navne eller partier, fx Ø.")
@click.option("--text", default="", help="Teksten, der skal føres til protokol.")
@user_errors
def note_command(ref, item_number, kind, who, text):
    """Føj en mindretalsudtalelse, et forbehold eller en protokolbemærkning til et punkt."""
    with write_session() as session:
        item = queries.item_by_number(session, resolve_meeting(session, ref).id, item_number)
        note = services.add_item_note(session, item.id, NoteEntry(kind=kind, who=who,
                                                                  text=text))
        sentence = documents.note_context(note)["sentence"]
    click.echo(f"Punkt {item_number}: {sentence}")


@meeting.command("send-minutes")
@click.argument("ref")
@click.option("--objection-deadline", default=None, help="Indsigelsesfrist, fx 14-10-2022.")
@user_errors
def send_minutes_command(ref, objection_deadline):
    """Send referatet til medlemmernes godkendelse."""
    with write_session() as session:
        found = services.send_minutes_for_approval(session, resolve_meeting(session, ref).id,
                                                   objection_deadline=objection_deadline)
    click.echo(f"Referatet er sendt til godkendelse; indsigelsesfrist "
               f"{format_date(found.objection_deadline)}.")


@meeting.command("approve")
@click.argument("ref")
@click.option("--user", "username", required=True, help="Medlemmets brugernavn.")
@user_errors
def approve_command(ref, username):
    """Et medlem godkender referatet."""
    with write_session() as session:
        found = resolve_meeting(session, ref)
        services.approve_minutes(session, found.id, username=username)
        status = MINUTES_STATUSES[found.minutes_status]
    click.echo(f"Godkendt. Referatets status: {status}.")


@meeting.command("render")
@click.argument("ref")
@click.option("--kind", type=click.Choice(["dagsorden", "referat"]), default="dagsorden")
@click.option("--public", is_flag=True, help="Offentlig udgave (lukkede punkter uden tekst).")
@click.option("--publication", type=int, default=None,
              help="Vis en offentliggjort udgave (1 = dagsordenen, 2.. = tillæg).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Skriv til fil.")
@user_errors
def render_command(ref, kind, public, publication, out):
    """Dagsorden eller referat som HTML, der kan udskrives."""
    with read_session() as session:
        found = resolve_meeting(session, ref)
        if publication:
            kept = pdf.find_publication(session, found, publication)
            html = documents.render_public_publication(session, kept) if public \
                else documents.render_publication(kept)
        else:
            html = documents.render_meeting(session, found.id, kind=kind, public=public)
    if out:
        Path(out).write_text(html, encoding="utf-8")
        click.echo(f"Skrevet til {out}.")
    else:
        click.echo(html)


@meeting.command("pdf")
@click.argument("ref")
@click.option("--kind", type=click.Choice(["dagsorden", "referat"]), default="dagsorden")
@click.option("--public", is_flag=True, help="Offentlig udgave (lukkede punkter uden tekst).")
@click.option("--publication", type=int, default=None,
              help="En offentliggjort udgave som gemt (1 = dagsordenen, 2.. = tillæg).")
@click.option("--med-bilag", "med_bilag", is_flag=True,
              help="Samlet dagsorden med bilag: bilagenes PDF'er bagest under hvert punkt.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="PDF-filen.")
@user_errors
def pdf_command(ref, kind, public, publication, med_bilag, out):
    """Dagsorden eller referat som PDF (forside, indhold, et bogmærke pr. punkt)."""
    # The command line is the secretariat's: all Bilag, or the public's with --public.
    reader = access.PUBLIC if public else access.Viewer(role=access.SECRETARIAT)
    with read_session() as session:
        found = resolve_meeting(session, ref)
        if publication:
            kept = pdf.find_publication(session, found, publication)
            content = pdf.publication_pdf(session, kept, public=public,
                                          bilag_for=reader if med_bilag else None)
        else:
            context = documents.meeting_context(session, found.id, kind=kind, public=public)
            content = pdf.render_pdf(context)
            if med_bilag:
                content = pdf.with_bilag(session, content, context, reader)
    Path(out).write_bytes(content)
    click.echo(f"Skrevet til {out} ({len(content) // 1024} KB).")


@click.command("plan")
@click.argument("number")
@click.option("--deadline", default=None, help="Frist (standard: sagens tidligste frist).")
@user_errors
def plan(number, deadline):
    """Planlæg sagens rute baglæns fra fristen gennem mødekalenderen (set fra i dag; en
    anden dag: sagsgang --today DAG plan SAG)."""
    with read_session() as session:
        found = services.plan_case(session, number, deadline=deadline)
    if found is None:
        click.echo(f"Sag {number} har ingen frist eller ingen trin tilbage; angiv --deadline.")
        return
    for line in found.describe(clock.today()):
        click.echo(line)


@click.command("import-referat")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--body", default=None, help="Organ (hvis referatet ikke selv siger det).")
@click.option("--date", "day", default=None, help="Mødedato (hvis referatet ikke siger det).")
@click.option("--actor", default="import", help=ACTOR_HELP)
@user_errors
def import_referat_command(path, body, day, actor):
    """Indlæs et offentliggjort referat: hjemmesidens (HTML eller dens tekst) eller
    PDF'ens tekst. Møde, fremmøde, punkter, sager, beslutninger og tidligere behandlinger.
    Uden ændringer, hvis det allerede er indlæst."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"Filen {path} kan ikke læses: {error}") from None
    referat = read_referat(text)
    with write_session() as session:
        report = import_referat(session, referat, body_code=body,
                                day=parse_date(day) if day else None, actor=actor)
    if report.already_imported:
        click.echo(f"Mødet er allerede indlæst (møde {report.meeting_id}); intet er ændret.")
        return
    click.echo(f"Møde {report.meeting_id}: {report.items} punkter, "
               f"{len(report.created_cases)} nye sager, {len(report.matched_cases)} kendte sager.")
    for note in report.notes:
        click.echo(f"Bemærk: {note}")
    for problem in report.problems:
        click.echo(f"Ikke læst: {problem}")
