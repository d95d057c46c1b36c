"""The `sagsgang` command line.

Every command prints a Danish message and exits with a non-zero code on bad input;
nothing is written when a command fails.
"""

import json
from datetime import date, datetime
from pathlib import Path

import click

from cases import files, queries, services
from cases.dates import COPENHAGEN, format_date, format_instant
from cases.db import read_session, write_session
from cases.models import utcnow
from cases.schemas import FIELD_LABELS
from cases.settings import current_organisation
from cli.common import ACTOR_HELP, user_errors
from meetings import services as meeting_services
from meetings.calendar import local_day
from views import case as views
from workflow import decisions
from workflow.access import SECRETARIAT, Viewer
from workflow.errors import InvalidInput
from workflow.machine import TRIGGER_LABELS, available_triggers


@click.group()
def case():
    """Sager: opret, vis, list og flyt sager gennem sagsgangen."""


def _json_or_file(raw: str) -> dict:
    try:
        if raw.startswith("@"):
            with open(raw[1:], encoding="utf-8") as f:
                data = json.load(f)
        else:
            data = json.loads(raw)
    except OSError as error:
        raise InvalidInput(f"Kan ikke læse filen {raw[1:]!r}: {error.strerror}.") from None
    except ValueError as error:
        raise InvalidInput(f"Ugyldig JSON: {error}.") from None
    if not isinstance(data, dict):
        raise InvalidInput("JSON skal være et objekt med sagens felter.")
    return data


@case.command("create")
@click.option("--number", help="Sagsnummer (unikt). Skal angives her eller i --json.")
@click.option("--title", help="Sagens titel.")
@click.option("--centre", help="Det center, der ejer sagen.")
@click.option("--decided-by", "deciding_body", multiple=True,
              help="Beslutningen træffes af (organets forkortelse, fx KB eller SU); gentages "
                   "ved fælles beslutningskompetence (--decided-by KNU --decided-by TMU).")
@click.option("--committee", "committees", multiple=True,
              help="Fagudvalg på ruten (kan gentages for parallel behandling).")
@click.option("--summary", default="", help="Sammendrag.")
@click.option("--owner-name", default="", help="Sagsbehandlerens navn.")
@click.option("--owner-email", default="", help="Sagsbehandlerens e-mail.")
@click.option("--proposal", "proposals", multiple=True, help="Et punkt i indstillingen.")
@click.option("--closed", "confidential", is_flag=True, help="Lukket punkt.")
@click.option("--replaces", default=None, help="Sagsnummeret på sagen, denne nye sag erstatter.")
@click.option("--json", "json_data", default=None,
              help="Alle felter som JSON (eller @fil.json); overskriver ikke andre flag.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def case_create(json_data, actor, **fields):
    """Registrér en ny sag."""
    data = _json_or_file(json_data) if json_data else {}
    # Flags given override the JSON; a field given nowhere is reported missing, in Danish.
    data.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items()
                 if v not in (None, (), "", False)})
    with write_session() as session:
        created = services.create_case(session, data, actor=actor)
    click.echo(f"Sag {created.number} oprettet: {created.title}")


@case.command("list")
@click.option("--status", default=None, help="Kun sager i denne tilstand (fx committee).")
@click.option("--centre", default=None, help="Kun sager fra dette center.")
@click.option("--body", default=None, help="Kun sager i dette organs kø.")
@click.option("--json", "as_json", is_flag=True, help="Udskriv som JSON.")
@user_errors
def case_list(status, centre, body, as_json):
    """List sager."""
    with read_session() as session:
        if body:
            current_organisation().body(body)
            found = [c for c, _ in queries.queue(session, body)]
        else:
            found = queries.list_cases(session, status=status, centre=centre)
        rows = [{"number": c.number, "title": c.title, "status": c.status,
                 "deciding_body": c.deciding_body,
                 "awaiting": queries.awaiting_bodies(session, c.id)} for c in found]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    org = current_organisation()
    for row in rows:
        waiting = f" – afventer {', '.join(row['awaiting'])}" if row["awaiting"] else ""
        click.echo(f"{row['number']:<14} {org.state_label(row['status']):<36} {row['title']}"
                   f"{waiting}")


# The command line is an operator's tool on the database itself: it reads every case in full.
OPERATOR = Viewer(role=SECRETARIAT)


def case_details(session, number: str) -> dict:
    """Everything about a case as plain data (for `show --json`): the same read model as the
    case page and the API, with dates as Danish readers write them."""
    found = queries.get_case(session, number)
    org = current_organisation()
    return plain(views.details(org, session, found, OPERATOR, local_day(utcnow())))


def plain(value):
    """JSON-ready: dates as 04-10-2022, instants as 04-10-2022 17:00 in Copenhagen."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, date):
        return format_date(value)
    return value


@case.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="Udskriv som JSON.")
@user_errors
def case_show(number, as_json):
    """Vis en sag med tilstand, mulige handlinger og beslutningshistorik."""
    with read_session() as session:
        data = case_details(session, number)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"Sag {data['number']}: {data['title']}")
    click.echo(f"Tilstand: {data['status_label']} (version {data['version']})")
    click.echo(f"Center: {data['centre']}   Beslutningen træffes af: "
               f"{' og '.join(data['deciding_bodies'])}")
    click.echo(f"Fagudvalg på ruten: {', '.join(data['committees']) or '–'}")
    if data["awaiting"]:
        click.echo(f"Afventer behandling i: {', '.join(data['awaiting'])}")
    for delivery in data["deliveries"]:
        if delivery["delivered_at"]:
            click.echo(f"Afleveret til dagsorden i {delivery['body']}: "
                       f"{delivery['delivered_at']} af {delivery['delivered_by']}")
    for d in data["deadlines"]:
        met = f" – overholdt {d['met_on']}" if d["met_on"] else " – ikke overholdt"
        click.echo(f"Frist {d['id']}: {d['due_date']} {d['description']} "
                   f"{d['legal_basis']}".rstrip() + met)
    click.echo("Mulige handlinger: " + ", ".join(
        f"{t.replace('_', '-')} ({TRIGGER_LABELS[t]})" for t in data["actions"]))
    _echo_history(data["history"])


def _echo_history(history: list[dict]) -> None:
    click.echo("Beslutningshistorik:")
    for row in history or []:
        item = f" punkt {row['item']}" if row["item"] else ""
        click.echo(f"  {row['date']} {row['body']}{item}: {row['decision']}"
                   + (f" – {row['text']}" if row["text"] else "")
                   + (" (registreret efterfølgende)" if row.get("afterwards") else ""))
        for vote in row.get("votes") or []:
            about = f" om indstillingens punkt {vote['proposal']}" if vote["proposal"] else ""
            click.echo(f"    Afstemning{about}: {vote['text']}")
        for note in row.get("notes") or []:
            click.echo(f"    {note['sentence']}")
        if row.get("not_present"):
            click.echo(f"    Deltog ikke under punktet: {', '.join(row['not_present'])}")
    if not history:
        click.echo("  (ingen behandlinger endnu)")


@case.command("history")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="Udskriv som JSON.")
@click.option("--events", is_flag=True, help="Vis hele revisionssporet (alle hændelser).")
@user_errors
def case_history(number, as_json, events):
    """Vis sagens beslutningshistorik (eller revisionsspor med --events)."""
    with read_session() as session:
        found = queries.get_case(session, number)
        if events:
            rows = [{"seq": e.seq, "at": format_instant(e.at), "actor": e.actor,
                     "action": e.trigger, "from": e.from_state, "to": e.to_state,
                     "body": e.body, "reason": e.reason, "payload": e.payload}
                    for e in queries.events(session, found.id)]
        else:
            rows = plain(views.history(session, found.id, minutes=True))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif events:
        for r in rows:
            org = current_organisation()
            moved = (f" – nu: {org.state_label(r['to'])}" if r["from"] != r["to"]
                     and r["action"] in views.SAYS_NOT_WHERE and r["from"]
                     else "")
            body = f" ({org.body_name(r['body'])})" if r["body"] else ""
            reason = f" – {r['reason']}" if r["reason"] else ""
            afterwards = " (registreret efterfølgende)" \
                if r["payload"].get(queries.RECORDED_AFTERWARDS) else ""
            click.echo(f"{r['seq']:>3} {r['at']} {r['actor']}: "
                       f"{views.PAST_TENSE.get(r['action'], r['action'])}{body}{afterwards}"
                       f"{moved}{reason}")
    else:
        _echo_history(rows)


@case.command("actions")
@click.argument("number")
@user_errors
def case_actions(number):
    """List de handlinger, der er mulige for sagen nu."""
    with read_session() as session:
        found = queries.get_case(session, number)
    for trigger in available_triggers(found.status):
        click.echo(f"{trigger.replace('_', '-'):<22} {TRIGGER_LABELS[trigger]}")


def _action_command(trigger: str, doc: str):
    """One `sagsgang case <action>` command per workflow trigger."""

    @case.command(trigger.replace("_", "-"), help=doc)
    @click.argument("number")
    @click.option("--body", default=None, help="Det organ, der behandler sagen (fx SU, ØU).")
    @click.option("--date", "meeting_date", default=None, help="Mødedato, fx 04-10-2022.")
    @click.option("--decision", "wording", default=None,
                  help="Beslutning: " + ", ".join(w.code for w in decisions.WORDINGS))
    @click.option("--text", "decision_text", default=None, help="Beslutningens tekst.")
    @click.option("--item", "item_number", type=int, default=None, help="Punktnummer.")
    @click.option("--minority", default=None, help="Mindretallets holdning.")
    @click.option("--to", "bodies", multiple=True,
                  help="Organ: fagudvalg ved send-back og refer, fx råd ved send-for-information "
                       "(kan gentages).")
    @click.option("--recipient", "recipients", multiple=True,
                  help="Ekstern modtager ved send-for-information, fx Socialstyrelsen "
                       "(kan gentages).")
    @click.option("--reason", default=None, help="Begrundelse.")
    @click.option("--override-reason", default=None,
                  help="Begrundelse for at fortsætte trods åben høring.")
    @click.option("--replaced-by", default=None, help="Den nye sags nummer (replace).")
    @click.option("--to-meeting", default=None,
                  help="Udsæt til et møde (postpone): «næste» (organets næste møde), en dato "
                       "(08-11-2022) eller mødets id; sagen sættes på dets dagsorden.")
    @click.option("--finance-again/--no-finance-again", default=None,
                  help="Ved refer fra kommunalbestyrelsen: behandler økonomiudvalget sagen igen, "
                       "før den kommer tilbage? (standard: organisationens indstilling)")
    @click.option("--body-name", default=None,
                  help="Navn på et tidligere organ (record-earlier).")
    @click.option("--version", "expected_version", type=int, default=None,
                  help="Fejl, hvis sagen ikke længere har denne version.")
    @click.option("--actor", default="cli", help=ACTOR_HELP)
    @user_errors
    def command(number, actor, expected_version, bodies, recipients, **arguments):
        with write_session() as session:
            event = meeting_services.run_case_action(session, number, trigger,
                                       {**arguments, "bodies": list(bodies),
                                        "recipients": list(recipients)},
                                       actor=actor, expected_version=expected_version)
        click.echo(f"Sag {number}: {TRIGGER_LABELS[trigger]} – "
                   f"{current_organisation().state_change(event.from_state, event.to_state)}")

    return command


for _trigger, _label in TRIGGER_LABELS.items():
    if _trigger not in ("send_to_hearing",):
        _action_command(_trigger, _label + ".")


@case.command("send-to-hearing")
@click.argument("number")
@click.option("--title", required=True, help="Høringens titel.")
@click.option("--party", "parties", multiple=True, required=True,
              help="Høringspart: et råds forkortelse (HR) eller 'Navn <email>'. Kan gentages.")
@click.option("--deadline", required=True, help="Høringsfrist, fx 01-11-2022.")
@click.option("--opened", "opened_on", required=True, help="Høringen åbner, fx 05-10-2022.")
@click.option("--body", default=None, help="Udvalget, der sender sagen i høring.")
@click.option("--date", "meeting_date", default=None, help="Udvalgets mødedato.")
@click.option("--text", "decision_text", default=None, help="Beslutningens tekst.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def case_send_to_hearing(number, title, parties, deadline, opened_on, actor, **arguments):
    """Send i høring: åbn en høring med parter og høringsfrist, og flyt sagen i høring."""
    with write_session() as session:
        hearing = services.send_to_hearing(session, number, title=title, parties=list(parties),
                                           deadline=deadline, opened_on=opened_on, actor=actor,
                                           **arguments)
    click.echo(f"Sag {number} er sendt i høring (høring {hearing.id}, "
               f"høringsfrist {format_date(hearing.deadline)}).")


@case.command("add-hearing")
@click.argument("number")
@click.option("--title", required=True, help="Høringens titel.")
@click.option("--party", "parties", multiple=True, required=True, help="Høringspart.")
@click.option("--deadline", required=True, help="Høringsfrist.")
@click.option("--opened", "opened_on", required=True, help="Høringen åbner.")
@click.option("--non-blocking", is_flag=True, help="Udvalget må behandle sagen under høringen.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def case_add_hearing(number, title, parties, deadline, opened_on, non_blocking, actor):
    """Registrér en høring uden at flytte sagen."""
    with write_session() as session:
        hearing = services.add_hearing(session, number, title=title, parties=list(parties),
                                       deadline=deadline, opened_on=opened_on, actor=actor,
                                       blocking=not non_blocking)
    click.echo(f"Høring {hearing.id} registreret på sag {number}.")


@case.command("hearing-response")
@click.argument("hearing_id", type=int)
@click.option("--party", required=True, help="Høringsparten (forkortelse eller navn).")
@click.option("--received", "received_on", required=True, help="Modtaget dato.")
@click.option("--text", required=True, help="Høringssvarets tekst.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def case_hearing_response(hearing_id, party, received_on, text, actor):
    """Registrér et høringssvar."""
    with write_session() as session:
        services.record_hearing_response(session, hearing_id, party=party,
                                         received_on=received_on, text=text, actor=actor)
    click.echo(f"Høringssvar fra {party} registreret.")


@case.command("close-hearing")
@click.argument("hearing_id", type=int)
@click.option("--date", "closed_on", required=True, help="Afsluttet dato.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def case_close_hearing(hearing_id, closed_on, actor):
    """Afslut en høring; sagen går videre til udvalgene, når ingen blokerende høring er åben."""
    with write_session() as session:
        hearing = services.close_hearing(session, hearing_id, closed_on=closed_on, actor=actor)
    click.echo(f"Høring {hearing.id} afsluttet.")


@case.command("add-deadline")
@click.argument("number")
@click.option("--date", "due_date", required=True, help="Fristens dato, fx 30-11-2022.")
@click.option("--kind", default="statutory", type=click.Choice(["statutory", "external",
                                                                "internal"]))
@click.option("--description", required=True, help="Hvad fristen gælder.")
@click.option("--legal-basis", default="", help="Hjemmel eller kilde.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def case_add_deadline(number, actor, **data):
    """Tilføj en frist til sagen."""
    with write_session() as session:
        services.add_deadline(session, number, data, actor=actor)
    click.echo(f"Frist tilføjet til sag {number}.")


@case.command("meet-deadline")
@click.argument("number")
@click.argument("deadline_id", type=int)
@click.option("--date", "met_on", default=None,
              help="Den dag, fristen blev overholdt, fx 01-12-2022 (standard: i dag).")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def case_meet_deadline(number, deadline_id, met_on, actor):
    """Markér en frist som overholdt (fristens id står i `sagsgang case show`)."""
    now = utcnow()
    with write_session() as session:
        deadline = services.meet_deadline(session, number, deadline_id, actor=actor, now=now,
                                          met_on=met_on or now.astimezone(COPENHAGEN).date())
    click.echo(f"Frist {deadline.id} på sag {number} ({deadline.description}) er overholdt "
               f"{format_date(deadline.met_on)}.")


@case.command("deliver")
@click.argument("number")
@click.option("--body", required=True, help="Det organ, hvis dagsorden sagen er klar til (fx SU).")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def case_deliver(number, body, actor):
    """Meld sagen afleveret til dagsorden for organets næste møde (stopper påmindelserne om
    intern aflevering)."""
    with write_session() as session:
        services.mark_delivered(session, number, body, actor=actor)
    click.echo(f"Sag {number} er afleveret til dagsorden i "
               f"{current_organisation().body_name(body)}.")


@case.command("undeliver")
@click.argument("number")
@click.option("--body", required=True, help="Det organ, afleveringen gjaldt (fx SU).")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def case_undeliver(number, body, actor):
    """Fortryd en aflevering til dagsorden: sagen er alligevel ikke klar."""
    with write_session() as session:
        services.unmark_delivered(session, number, body, actor=actor)
    click.echo(f"Afleveringen af sag {number} til dagsorden i "
               f"{current_organisation().body_name(body)} er fortrudt.")


@case.command("edit")
@click.argument("number")
@click.option("--title", default=None, help="Ny titel.")
@click.option("--summary", default=None, help="Sammendrag.")
@click.option("--background", default=None, help="Baggrund.")
@click.option("--presentation", default=None, help="Sagsfremstilling.")
@click.option("--economy", default=None, help="Økonomiske konsekvenser og finansiering.")
@click.option("--owner-name", default=None, help="Sagsbehandlerens navn.")
@click.option("--owner-email", default=None, help="Sagsbehandlerens e-mail.")
@click.option("--proposal", "proposals", multiple=True,
              help="Et punkt i indstillingen (kan gentages; erstatter alle punkter).")
@click.option("--closed/--open", "confidential", default=None,
              help="Gør sagen til lukket punkt (--closed) eller åbent punkt (--open).")
@click.option("--json", "json_data", default=None,
              help="Felterne som JSON (eller @fil.json), fx bilag; flag overskriver JSON.")
@click.option("--version", "expected_version", type=int, default=None,
              help="Fejl, hvis sagen ikke længere har denne version.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def case_edit(number, json_data, expected_version, actor, **fields):
    """Redigér en registreret sags tekst: titel, tekster, sagsbehandler, indstilling, bilag.

    Nummer, beslutningskompetence, fagudvalg og tilstand ændres gennem sagsgangen.
    """
    data = _json_or_file(json_data) if json_data else {}
    data.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items()
                 if v is not None and v != ()})
    if not data:
        raise InvalidInput("Angiv mindst ét felt, der skal ændres (fx --title).")
    with write_session() as session:
        event = services.update_case(session, number, data, actor=actor,
                                     expected_version=expected_version)
        version = queries.get_case(session, number).version
    if event is None:
        click.echo(f"Sag {number} er uændret (version {version}).")
    else:
        click.echo(f"Sag {number} er redigeret: {', '.join(_field_labels(event.payload))} "
                   f"(version {version}).")


@case.command("attach")
@click.argument("number")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--title", required=True, help="Bilagets titel.")
@click.option("--anbefales", "recommended", is_flag=True, help="Bilaget anbefales.")
@click.option("--ikke-offentlig", "not_public", is_flag=True,
              help="Ikke offentligt: kun for dem, der må læse sagens lukkede oplysninger.")
@click.option("--actor", default="cli", help=ACTOR_HELP)
@user_errors
def case_attach(number, file, title, recommended, not_public, actor):
    """Vedhæft en fil (PDF, DOCX, XLSX, ODT, PNG, JPEG, GIF) som bilag til sagen NUMBER."""
    path = Path(file)
    files.check_size(path.stat().st_size)  # before reading a file that is far too large
    with write_session() as session:
        attachment = files.attach(session, number, filename=path.name,
                                  content=path.read_bytes(), title=title,
                                  recommended=recommended, public=not not_public, actor=actor)
        click.echo(f"Bilag {attachment.number} «{attachment.title}» er vedhæftet sag {number} "
                   f"({attachment.filename}, {attachment.size} byte"
                   f"{', ikke offentligt' if not attachment.public else ''}).")


def _field_labels(payload: dict) -> list[str]:
    return [FIELD_LABELS.get(name, name) for name in payload["fields"]]


@click.command("bodies")
def bodies():
    """List organisationens organer (fra konfigurationen)."""
    for body in current_organisation().bodies:
        click.echo(f"{body.code:<6} {body.name:<40} {BODY_KINDS.get(body.kind, body.kind)}")


BODY_KINDS = {"council": "kommunalbestyrelse", "finance_committee": "økonomiudvalg",
              "standing_committee": "stående udvalg", "hearing_council": "høringsråd"}
