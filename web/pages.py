"""The pages for the secretariat, case owners, managers and members (login required).

Every form post checks the CSRF token (`form_with_csrf`) and the role (`require`) before
anything else; a write to a case asks `case_to_change` (web.ownership) before it writes; a
write is one transaction (`write(request)`); a refused action (UserError) becomes a flash
message on the page it came from (see web.app).
"""

from collections import defaultdict
from datetime import timedelta
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from cases import actions, files, queries, services
from cases.clock import wall_now
from cases.dates import COPENHAGEN, format_date, parse_date
from cases.models import DEADLINE_KINDS, Case, User, utcnow
from cases.organisation import HEARING_COUNCIL
from cases.settings import current_organisation, get_settings
from meetings import bilag
from meetings import queries as meeting_queries
from meetings.models import AGENDA_STATUSES
from meetings.visibility import may_read
from notifications import outbox
from notifications.email import FOLLOW_KINDS, written_out
from notifications.rules import KINDS
from views import case as views
from views import dashboard as dash
from web import bilag as bilag_http
from web import follow, logins, oidc, tokens
from web.auth import (
    CurrentUser,
    PostedForm,
    db,
    form_with_csrf,
    log_in,
    log_out,
    optional_user,
    page_user,
    require,
    write,
)
from web.confirm import Confirmation, confirm_page, confirmed
from web.ownership import case_to_change, hearing_case, may_change
from web.passwords import verify_password
from web.plot import deadlines_chart
from web.rendering import flash, page, redirect, safe_path
from workflow import access, decisions
from workflow.errors import Conflict, InvalidInput, NotFound, TransitionRefused, UserError
from workflow.machine import ACTIVE, FINAL, STATE_LABELS, TRIGGER_LABELS

router = APIRouter(include_in_schema=False)

# Triggers fired from the "Registrér beslutning" form (a body's decision, by wording).
DECISION_TRIGGERS = ("treat", "postpone", "send_back", "refer", "send_to_hearing")


def today():
    return utcnow().astimezone(COPENHAGEN).date()


# -- login -------------------------------------------------------------------------------------

@router.get("/login")
def login_form(request: Request, next: str = "/",
               user: CurrentUser | None = Depends(optional_user)):
    return page(request, "login.html", user=user, next=safe_path(next), username="")


@router.post("/login")
async def login(request: Request, session: Session = Depends(db)):
    """Check the password unless throttled (web.logins): a refused try checks nothing."""
    if not get_settings().local_login:  # only the identity provider's login (web.oidc)
        flash(request, "Der logges ikke ind med adgangskode her. Log ind med "
                       f"{current_organisation().name}-konto.", "error")
        return redirect("/login")
    form = await form_with_csrf(request)
    # Throttling counts real seconds, whatever day the product's clock is set to.
    username, address, now = form.get("username"), logins.client_address(request), wall_now()
    wait = logins.wait_seconds(session, username, address, now)
    if wait:
        flash(request, logins.wait_message(wait), "error")
        refused = page(request, "login.html", user=None, next=safe_path(form.get("next")),
                       username=username, status_code=429)
        refused.headers["Retry-After"] = str(wait)
        return refused
    found = session.exec(select(User).where(User.username == username)).first()
    # On a worker thread: a password hash takes a CPU-heavy moment the event loop must not wait.
    right = await anyio.to_thread.run_sync(verify_password, found.password_hash if found else None,
                                           form.get("password", ""))
    if not right or found is None or not found.active:
        with write(request) as changes:
            logins.record_failure(changes, username, address, now)
        flash(request, "Forkert brugernavn eller adgangskode.", "error")
        return page(request, "login.html", user=None, next=safe_path(form.get("next")),
                    username=username, status_code=400)
    with write(request) as changes:
        logins.forget_account(changes, username)
    log_in(request, found)
    return redirect(safe_path(form.get("next")) if form.get("next") not in ("", "/")
                    else home_for(found.role))


@router.post("/logout")
async def logout(request: Request, user: CurrentUser | None = Depends(optional_user)):
    await form_with_csrf(request)
    at_provider = await oidc.end_session_url(request) if user else None  # asks this session
    log_out(request, user)
    if user is not None:
        flash(request, "Du er logget ud – alle steder, hvor du var logget ind.")
    return RedirectResponse(at_provider, status_code=303) if at_provider \
        else redirect("/login")


def home_for(role: str) -> str:
    return {"manager": "/overblik", "member": "/moeder", "case_owner": "/sager"}.get(role, "/koer")


@router.get("/")
def home(user: CurrentUser = Depends(page_user)):
    return redirect(home_for(user.role))


# -- queues ------------------------------------------------------------------------------------

def body_queue(session: Session, body) -> list:
    """(case, since-row) pairs: the workflow's queue, or for a hearing council the cases it is
    to answer a hearing on (the council answers at its own meeting; it has no workflow queue)."""
    if body.kind == HEARING_COUNCIL:
        heard = meeting_queries.heard_queue(session, body.code, set())
        return [(entry.case, entry) for entry in heard]
    return queries.queue(session, body.code)


@router.get("/koer")
def queues(request: Request, user: CurrentUser = Depends(require("view_queues")),
           session: Session = Depends(db)):
    org = current_organisation()
    day = today()
    bodies = []
    for body in org.bodies:
        bodies.append({"body": body, "queue": body_queue(session, body),
                       "meetings": meeting_queries.next_meetings(session, org, body.code, day)})
    # The secretariat's front page also shows the mails that could not be sent, and why.
    failed = outbox.failed_rows(session, limit=50) if user.can("view_failed_mail") else None
    return page(request, "queues.html", user=user, bodies=bodies, failed_mail=failed,
                written_out=written_out, kind_labels={**KINDS, **FOLLOW_KINDS})


@router.get("/koer/{code}")
def queue(request: Request, code: str, user: CurrentUser = Depends(require("view_queues")),
          session: Session = Depends(db)):
    org = current_organisation()
    body = org.body(code)
    found = body_queue(session, body)
    return page(request, "queue.html", user=user, body=body, queue=found,
                delivered_by=({} if body.kind == HEARING_COUNCIL else
                              queries.user_names(session, [a.delivered_by for _, a in found])),
                following=follow.is_following(session, user, body_code=code),
                agenda_statuses=AGENDA_STATUSES,
                meetings=meeting_queries.next_meetings(session, org, code, today(), limit=5))


# -- cases -------------------------------------------------------------------------------------

@router.get("/sager")
def case_list(request: Request, q: str = "", status: str = "", centre: str = "",
              user: CurrentUser = Depends(require("view_cases")),
              session: Session = Depends(db)):
    query = select(Case)
    if q:
        like = f"%{q}%"
        query = query.where(Case.number.ilike(like) | Case.title.ilike(like))
    if status:
        query = query.where(Case.status == status)
    else:
        query = query.where(Case.status.in_(ACTIVE))
    if centre:
        query = query.where(Case.centre == centre)
    cases = list(session.exec(query.order_by(Case.updated_at.desc()).limit(200)))
    return page(request, "cases.html", user=user, cases=cases, q=q, status=status,
                centre=centre, states={state: current_organisation().state_label(state)
                                       for state in STATE_LABELS})


@router.get("/sager/ny")
def new_case_form(request: Request, user: CurrentUser = Depends(require("create_case"))):
    return page(request, "case_new.html", user=user, values=defaultdict(str), error=None,
                kinds=DEADLINE_KINDS)


@router.post("/sager/ny")
def new_case(request: Request, user: CurrentUser = Depends(require("create_case")),
             form: PostedForm = Depends(form_with_csrf)):
    values = {k: form.get(k) for k in ("number", "title", "summary", "background",
                                        "presentation", "economy", "centre", "owner_name",
                                        "owner_email", "deciding_body")}
    values["committees"] = form.getlist("committees")
    values["confidential"] = form.get("confidential") == "on"
    values["proposals"] = _proposal_lines(form.get("proposals"))
    if form.get("deadline_date"):
        values["deadlines"] = [{"due_date": form.get("deadline_date"),
                                "kind": form.get("deadline_kind", "statutory"),
                                "description": form.get("deadline_description") or "Frist",
                                "legal_basis": form.get("deadline_legal_basis")}]
    # Joint competence: the chosen body first, then the committees that share it.
    joint = form.getlist("joint_bodies")
    data = {**values, "deciding_body": [values["deciding_body"], *joint]}
    try:
        with write(request) as session:
            created = services.create_case(session, data, actor=user.username)
    except InvalidInput as error:
        values["joint_bodies"] = joint
        return page(request, "case_new.html", user=user, values=defaultdict(str, values),
                    error=error.message,
                    kinds=DEADLINE_KINDS, status_code=400)
    flash(request, f"Sag {created.number} er oprettet.")
    return redirect(f"/sager/{created.number}")


@router.post("/sager/{number:path}/beslutning")
def record_decision(request: Request, number: str,
                    user: CurrentUser = Depends(require("record_decision")),
                    form: PostedForm = Depends(form_with_csrf)):
    wording = decisions.wording(form.get("wording"))
    # The committees to send back to are ticked in advance (the case's own), so they are the
    # decision's only when it sends back, as the form says.
    sent_back = wording is not None and wording.trigger in ("send_back", "refer")
    arguments = dict(body=form.get("body"), meeting_date=form.get("meeting_date"),
                     item_number=form.get("item_number") or None,
                     decision_text=form.get("decision_text"), minority=form.get("minority"),
                     reason=form.get("reason"),
                     bodies=form.getlist("bodies") if sent_back else None,
                     override_reason=form.get("override_reason"))
    form_id = "tilbage" if form.get("form") == "tilbage" else "beslutning"
    try:
        with write(request) as session:
            case_to_change(session, user, number, "record_decision",
                           "registrere beslutninger på")
            event = actions.record_decision(session, number, wording=form.get("wording"),
                                            actor=user.username,
                                            expected_version=_version(form), **arguments)
    except NotFound:
        raise
    except UserError as error:
        return _refused(request, user, number, form_id, form, DECISION_FIELDS[form_id], error)
    flash(request, f"Beslutningen «{wording.label if wording else ''}» er registreret: "
                   f"{current_organisation().state_change(event.from_state, event.to_state)}.")
    return redirect(f"/sager/{number}")


DECISION_FIELDS = {
    "beslutning": ("body", "wording", "meeting_date", "item_number", "decision_text",
                   "minority", "reason", "override_reason"),
    "tilbage": ("body", "meeting_date", "item_number", "bodies", "reason", "decision_text"),
}


@router.post("/sager/{number:path}/handling")
def other_action(request: Request, number: str,
                 user: CurrentUser = Depends(require("fire_transition")),
                 form: PostedForm = Depends(form_with_csrf)):
    trigger = form.get("trigger")
    if trigger not in TRIGGER_LABELS or trigger in (*DECISION_TRIGGERS, "record_earlier"):
        raise InvalidInput("Vælg en handling.")
    try:
        with write(request) as session:
            case = case_to_change(session, user, number, "fire_transition", "flytte")
            if trigger == "withdraw" and not confirmed(form):
                # Cannot be undone: first say what will happen, and ask (nothing written).
                return _confirm_withdraw(request, user, session, case, form)
            event = actions.run_action(session, number, trigger, {
                "reason": form.get("reason"), "replaced_by": form.get("replaced_by"),
                "override_reason": form.get("override_reason"),
                "bodies": form.getlist("bodies"),
                "recipients": form.get("recipients").split(",")},  # empty ones left out
                actor=user.username, expected_version=_version(form))
    except NotFound:
        raise
    except UserError as error:
        return _refused(request, user, number, f"handling-{trigger}", form,
                        ("replaced_by", "bodies", "recipients", "reason", "override_reason"),
                        error)
    flash(request, f"{TRIGGER_LABELS[trigger]}: "
                   f"{current_organisation().state_change(event.from_state, event.to_state)}.")
    return redirect(f"/sager/{number}")


def _confirm_withdraw(request: Request, user: CurrentUser, session: Session, case: Case, form):
    if not (form.get("reason") or "").strip():
        raise InvalidInput("Skriv en begrundelse for at trække sagen tilbage.")
    awaiting = [current_organisation().body_name(code)
                for code in queries.awaiting_bodies(session, case.id)]
    consequences = ["Sagen får tilstanden «Trukket tilbage» og kan ikke genoptages; "
                    "en ny behandling kræver en ny sag."]
    if awaiting:
        consequences.append(f"Den tages ud af køen hos {views.and_list(awaiting)}.")
    consequences.append("Begrundelsen står i sagens tidslinje.")
    return confirm_page(request, user, Confirmation(
        title=f"Træk sag {case.number} tilbage?", subject=f"Sag {case.number}: {case.title}",
        consequences=consequences, action=f"/sager/{case.number}/handling",
        back=f"/sager/{case.number}",
        fields=(("trigger", "withdraw"), ("version", form.get("version")),
                ("reason", form.get("reason"))),
        quoted=(("Begrundelse", form.get("reason")),), button="Ja, træk sagen tilbage"))


def _version(form) -> int:
    try:
        return int(form.get("version"))
    except ValueError:
        raise InvalidInput("Formularen mangler sagens version. Genindlæs siden.") from None


@router.post("/sager/{number:path}/frist")
def add_deadline(request: Request, number: str,
                 user: CurrentUser = Depends(require("add_deadline")),
                 form: PostedForm = Depends(form_with_csrf)):
    try:
        with write(request) as session:
            case_to_change(session, user, number, "add_deadline", "tilføje frister til")
            services.add_deadline(session, number, {
                "due_date": form.get("due_date"), "kind": form.get("kind", "statutory"),
                "description": form.get("description"),
                "legal_basis": form.get("legal_basis")}, actor=user.username)
    except NotFound:
        raise
    except UserError as error:
        return _refused(request, user, number, "frist", form,
                        ("due_date", "kind", "description", "legal_basis"), error)
    flash(request, "Fristen er tilføjet.")
    return redirect(f"/sager/{number}")


@router.post("/sager/{number:path}/frister/{deadline_id}/overholdt")
def meet_deadline(request: Request, number: str, deadline_id: int,
                  user: CurrentUser = Depends(require("add_deadline")),
                  form: PostedForm = Depends(form_with_csrf)):
    try:
        with write(request) as session:
            case_to_change(session, user, number, "add_deadline",
                           "markere frister som overholdt på")
            deadline = services.meet_deadline(session, number, deadline_id,
                                              met_on=form.get("met_on") or today(),
                                              actor=user.username)
    except NotFound:
        raise
    except UserError as error:
        return _refused(request, user, number, f"overholdt-{deadline_id}", form,
                        ("met_on",), error)
    flash(request, f"Fristen «{deadline.description}» er overholdt "
                   f"{format_date(deadline.met_on)}.")
    return redirect(f"/sager/{number}")


# -- editing a case's text ---------------------------------------------------------------------

def _editable_case(session: Session, user: CurrentUser, number: str) -> Case:
    case = case_to_change(session, user, number, "edit_case", "redigere")
    services.check_editable(case)
    return case


# -- Bilag as files ----------------------------------------------------------------------------

@router.post("/sager/{number:path}/bilag")
async def attach_file(request: Request, number: str,
                      user: CurrentUser = Depends(require("edit_case"))):
    form = await form_with_csrf(request)
    filename, content = await bilag_http.uploaded_file(request)
    with write(request) as session:
        case_to_change(session, user, number, "edit_case", "vedhæfte bilag til")
        attachment = files.attach(session, number, filename=filename, content=content,
                                  title=form.get("title"),
                                  recommended=form.get("recommended") == "on",
                                  public=form.get("not_public") != "on", actor=user.username)
    flash(request, f"Bilaget «{attachment.title}» er vedhæftet.")
    return redirect(f"/sager/{number}")


@router.post("/sager/{number:path}/bilag/{attachment_id}")
def edit_attachment(request: Request, number: str, attachment_id: int,
                    user: CurrentUser = Depends(require("edit_case")),
                    form: PostedForm = Depends(form_with_csrf)):
    try:
        with write(request) as session:
            case_to_change(session, user, number, "edit_case", "rette bilag på")
            attachment, changed = files.edit(
                session, number, attachment_id, title=form.get("title"),
                recommended=form.get("recommended") == "on",
                public=form.get("not_public") != "on", actor=user.username)
    except NotFound:
        raise
    except UserError as error:
        return _refused(request, user, number, f"bilag-{attachment_id}", form, ("title",),
                        error)
    if changed:
        flash(request, f"Bilaget «{attachment.title}» er rettet.")
    else:
        flash(request, "Ingen ændringer – bilaget er uændret.", "info")
    return redirect(f"/sager/{number}")


@router.post("/sager/{number:path}/bilag/{attachment_id}/fjern")
def remove_attachment(request: Request, number: str, attachment_id: int,
                      user: CurrentUser = Depends(require("edit_case")),
                      form: PostedForm = Depends(form_with_csrf)):
    with write(request) as session:
        case_to_change(session, user, number, "edit_case", "fjerne bilag fra")
        attachment = files.remove(session, number, attachment_id, actor=user.username)
    flash(request, f"Bilaget «{attachment.title}» er fjernet.")
    return redirect(f"/sager/{number}")


@router.get("/bilag/{attachment_id}")
def download_attachment(attachment_id: int,
                        user: CurrentUser | None = Depends(optional_user),
                        session: Session = Depends(db)):
    viewer = user.viewer if user else access.PUBLIC
    attachment, content = bilag.attachment_to_serve(current_organisation(), session,
                                                    attachment_id, viewer)
    return bilag_http.file_response(attachment, content)


# -- delivered for the agenda ------------------------------------------------------------------

@router.post("/sager/{number:path}/afleveret")
def mark_delivered(request: Request, number: str,
                   user: CurrentUser = Depends(require("edit_case")),
                   form: PostedForm = Depends(form_with_csrf)):
    body = form.get("body")
    with write(request) as session:
        case_to_change(session, user, number, "edit_case", "melde afleveret til dagsorden for")
        services.mark_delivered(session, number, body, actor=user.username)
    flash(request, f"Sag {number} er afleveret til dagsorden i "
                   f"{current_organisation().body_name(body)}.")
    return redirect(f"/sager/{number}")


@router.post("/sager/{number:path}/afleveret/fortryd")
def unmark_delivered(request: Request, number: str,
                     user: CurrentUser = Depends(require("edit_case")),
                     form: PostedForm = Depends(form_with_csrf)):
    body = form.get("body")
    with write(request) as session:
        case_to_change(session, user, number, "edit_case", "melde afleveret til dagsorden for")
        services.unmark_delivered(session, number, body, actor=user.username)
    flash(request, f"Afleveringen af sag {number} til dagsorden i "
                   f"{current_organisation().body_name(body)} er fortrudt.")
    return redirect(f"/sager/{number}")


def _proposal_lines(text: str) -> list[str]:
    """The Indstilling typed in a form: one proposal per line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.get("/sager/{number:path}/rediger")
def edit_case_form(request: Request, number: str,
                   user: CurrentUser = Depends(require("edit_case")),
                   session: Session = Depends(db)):
    case = _editable_case(session, user, number)
    values = {name: getattr(case, name) for name in EDITABLE}
    values["proposals"] = [p.text for p in queries.proposals(session, case.id)]
    values["attachments"] = [{"title": a.title, "recommended": a.recommended}
                             for a in queries.attachments(session, case.id) if not a.digest]
    return page(request, "case_edit.html", user=user, number=case.number, values=values,
                version=case.version, error=None)


@router.post("/sager/{number:path}/rediger")
def edit_case(request: Request, number: str,
              user: CurrentUser = Depends(require("edit_case")),
              form: PostedForm = Depends(form_with_csrf)):
    values = {name: form.get(name) for name in EDITABLE if name != "confidential"}
    if user.can("manage_agenda"):
        # Whether a case is a lukket punkt decides what the public and the mails see: the
        # secretariat's call, not the case owner's (their form shows it, disabled).
        values["confidential"] = form.get("confidential") == "on"
    values["proposals"] = _proposal_lines(form.get("proposals"))
    values["attachments"] = _posted_attachments(form)
    version = _version(form)
    try:
        with write(request) as session:
            case = _editable_case(session, user, number)
            changes = dict(values)
            shown = [p.text for p in queries.proposals(session, case.id)]
            if changes["proposals"] == _proposal_lines("\n".join(shown)):
                # As the form showed them: a proposal written with line breaks (command
                # line, API, importer) must not come back split into several.
                del changes["proposals"]
            event = services.update_case(session, number, changes, actor=user.username,
                                         expected_version=version)
    except (InvalidInput, Conflict, TransitionRefused) as error:
        # The form again with what was typed, so that a refused edit loses nothing.
        return page(request, "case_edit.html", user=user, number=number, values=values,
                    version=version, error=error.message,
                    status_code=400 if isinstance(error, InvalidInput) else 409)
    if event is None:
        flash(request, "Ingen ændringer – sagen er uændret.", "info")
    else:
        flash(request, f"Sagen er redigeret. {event.reason}.")
    return redirect(f"/sager/{number}")


# The Case columns of the edit form (proposals and attachments are rows of their own).
EDITABLE = (*services.EDIT_SHORT_FIELDS, *services.EDIT_LONG_FIELDS)


def _posted_attachments(form) -> list[dict]:
    """The attachment rows of the edit form, in order; a row without a title is dropped."""
    rows: dict[int, dict] = {}
    for key, value in form.items:
        field, _, index = key.rpartition("_")
        if field in ("attachment_title", "attachment_recommended") and index.isdigit():
            rows.setdefault(int(index), {})[field] = value.strip()
    return [{"title": row["attachment_title"],
             "recommended": row.get("attachment_recommended") == "on"}
            for _, row in sorted(rows.items()) if row.get("attachment_title")]


@router.post("/sager/{number:path}/hoering")
def add_hearing(request: Request, number: str,
                user: CurrentUser = Depends(require("add_hearing")),
                form: PostedForm = Depends(form_with_csrf)):
    parties = form.getlist("parties") + [line.strip() for line in
                                         form.get("other_parties").splitlines() if line.strip()]
    common = dict(title=form.get("title"), parties=parties, deadline=form.get("deadline"),
                  opened_on=form.get("opened_on") or today(), actor=user.username)
    try:
        with write(request) as session:
            if form.get("move") == "on":
                case_to_change(session, user, number, "fire_transition", "flytte")
                services.send_to_hearing(session, number, **common)
            else:
                case_to_change(session, user, number, "add_hearing", "oprette høringer på")
                services.add_hearing(session, number, blocking=form.get("blocking") == "on",
                                     **common)
    except NotFound:
        raise
    except UserError as error:
        return _refused(request, user, number, "hoering", form,
                        ("title", "parties", "opened_on", "deadline"), error)
    flash(request, "Høringen er oprettet.")
    return redirect(f"/sager/{number}")


@router.post("/hoeringer/{hearing_id}/svar")
def hearing_response(request: Request, hearing_id: int,
                     user: CurrentUser = Depends(require("record_hearing_response")),
                     form: PostedForm = Depends(form_with_csrf)):
    number = None
    try:
        with write(request) as session:
            number = case_to_change(session, user, hearing_case(session, hearing_id),
                                    "record_hearing_response",
                                    "registrere høringssvar på").number
            services.record_hearing_response(session, hearing_id, party=form.get("party"),
                                             received_on=form.get("received_on") or today(),
                                             text=form.get("text"), actor=user.username)
    except NotFound:
        raise
    except UserError as error:
        if number is None:
            raise
        return _refused(request, user, number, f"svar-{hearing_id}", form,
                        ("received_on", "text"), error)
    flash(request, "Høringssvaret er registreret.")
    return redirect(f"/sager/{number}")


@router.post("/hoeringer/{hearing_id}/afslut")
def close_hearing(request: Request, hearing_id: int,
                  user: CurrentUser = Depends(require("close_hearing")),
                  form: PostedForm = Depends(form_with_csrf)):
    with write(request) as session:
        case = case_to_change(session, user, hearing_case(session, hearing_id),
                              "close_hearing", "afslutte høringer på")
        number = case.number
        missing = _missing_answers(session, hearing_id)
        if missing and not confirmed(form):
            # Answers are missing: say what closing means, and ask (nothing written).
            return confirm_page(request, user, Confirmation(
                title="Afslut høringen uden alle svar?",
                subject=f"Sag {case.number}: {case.title}",
                consequences=[f"Der mangler svar fra {views.and_list(missing)}.",
                              "Når høringen er afsluttet, kan der ikke registreres flere "
                              "svar, og der sendes ikke flere påmindelser.",
                              "Sagen kan derefter gå videre til behandling."],
                action=f"/hoeringer/{hearing_id}/afslut", back=f"/sager/{number}",
                button="Ja, afslut høringen"))
        services.close_hearing(session, hearing_id, closed_on=form.get("closed_on") or today(),
                               actor=user.username)
    flash(request, "Høringen er afsluttet.")
    return redirect(f"/sager/{number}")


def _missing_answers(session: Session, hearing_id: int) -> list[str]:
    answered = {r.party_id for r in queries.hearing_responses(session, hearing_id)}
    return [p.name for p in queries.hearing_parties(session, hearing_id)
            if p.id not in answered]


@router.post("/sager/{number:path}/foelg")
def follow_case(request: Request, number: str,
                user: CurrentUser = Depends(require("follow")),
                form: PostedForm = Depends(form_with_csrf)):
    with write(request) as session:
        case = queries.get_case(session, number)
        if not may_read(current_organisation(), session, case, user.viewer):
            raise InvalidInput("Du kan ikke følge et lukket punkt uden for dine egne udvalg.")
        if form.get("stop") == "on":
            follow.stop(session, user, case_id=case.id)
            flash(request, "Du følger ikke længere sagen.")
        else:
            follow.start(session, user, case_id=case.id)
            flash(request, f"Du følger nu sagen. Der sendes e-mail til {user.email}.")
    return redirect(f"/sager/{number}")


@router.post("/organer/{code}/foelg")
def follow_body(request: Request, code: str,
                user: CurrentUser = Depends(require("follow")),
                form: PostedForm = Depends(form_with_csrf)):
    current_organisation().body(code)
    with write(request) as session:
        if form.get("stop") == "on":
            follow.stop(session, user, body_code=code)
            flash(request, "Du følger ikke længere organet.")
        else:
            follow.start(session, user, body_code=code)
            flash(request, f"Du følger nu {current_organisation().body_name(code)}. "
                           f"Der sendes e-mail til {user.email}.")
    return redirect(safe_path(form.get("back"), "/koer"))


@router.get("/sager/{number:path}")
def case_page(request: Request, number: str,
              user: CurrentUser = Depends(require("view_cases")),
              session: Session = Depends(db)):
    return _case_page(request, user, session, number)


# The other actions as their buttons say what they do (the form has no other words).
ACTION_LABELS = {"submit": "Send sagen til behandling",
                 "end_hearing": "Afslut høringsfasen og send sagen videre",
                 "withdraw": "Træk sagen tilbage", "replace": "Erstat sagen med en ny sag",
                 "send_for_information": "Send sagen til orientering",
                 "close": "Afslut sagen"}


def _case_page(request: Request, user: CurrentUser, session: Session, number: str, *,
               typed: dict | None = None, refusal: dict | None = None, status_code: int = 200):
    """The case page; after a refused form, with what was typed and why it was refused."""
    org = current_organisation()
    case = queries.get_case(session, number)
    data = views.details(org, session, case, user.viewer, today())
    ownership = may_change(user, case, "edit_case")
    names = lambda bodies: [(b.code, b.name) for b in bodies]  # noqa: E731
    return page(request, "case.html", user=user, case=data, today=today(),
                may_edit=ownership and case.status not in FINAL, may_deliver=ownership,
                may_change=lambda permission: may_change(user, case, permission),
                following=follow.is_following(session, user, case_id=case.id),
                decision_wordings=[(w.code, w.label) for w in decisions.WORDINGS
                                   if w.trigger in data["actions"] and w.trigger in
                                   ("treat", "postpone", "send_to_hearing")],
                kinds=DEADLINE_KINDS, reminder_kinds={**KINDS, **FOLLOW_KINDS},
                awaited_options=[(code, org.body_name(code)) for code in data["awaiting"]],
                committee_options=names(b for b in org.bodies if b.is_committee),
                council_options=names(b for b in org.bodies if b.kind == HEARING_COUNCIL),
                body_options=names(org.bodies), action_labels=ACTION_LABELS,
                other_actions=[t for t in data["actions"] if t not in DECISION_TRIGGERS
                               and t != "record_earlier"],
                typed=typed, refusal=refusal, status_code=status_code)


# Where a refusal's message belongs: the first field of the form whose words it uses.
FIELD_WORDS = {
    "meeting_date": ("mødedato", "møde"), "item_number": ("punkt",),
    "due_date": ("dato",), "met_on": ("dato",), "received_on": ("dato", "modtaget"),
    "opened_on": ("åbner",), "deadline": ("høringsfrist",), "description": ("beskrivelse",),
    "legal_basis": ("hjemmel",), "title": ("titel",), "parties": ("part",),
    "text": ("svar",), "decision_text": ("beslutningens tekst",), "minority": ("mindretal",),
    "replaced_by": ("erstat", "ny sag"), "bodies": ("fagudvalg", "organ"),
    "recipients": ("modtager",), "reason": ("begrundelse",), "kind": ("type",),
    "override_reason": ("åben høring",), "body": ("organ",),
}


def _refused(request: Request, user: CurrentUser, number: str, form_id: str, form,
             fields: tuple[str, ...], error: UserError):
    """The case page again with every field as typed and the message at its field."""
    values, lists = {}, {}
    for name, value in form.items:
        values.setdefault(name, value)
        lists.setdefault(name, []).append(value)
    text = error.message.lower()
    # The field whose typed value the message quotes ("Ugyldig dato: 'i morgen'"), else
    # the first whose words it uses; none: the message is the whole form's.
    field = next((name for name in fields if values.get(name, "").strip()
                  and f"'{values[name].strip().lower()}'" in text), None) or \
        next((name for name in fields
              if any(word in text for word in FIELD_WORDS.get(name, ()))), None)
    typed = {"form": form_id, "values": values, "lists": lists}
    return _case_page(request, user, request.state.connection.read(), number, typed=typed,
                      refusal={"form": form_id, "field": field, "message": error.message},
                      status_code=409 if isinstance(error, Conflict | TransitionRefused)
                      else 400)


# -- the managers' dashboard -------------------------------------------------------------------

def _filters(centre: str, organ: str) -> dash.Filters:
    org = current_organisation()
    if centre:
        org.check_centre(centre)
    if organ:
        org.body(organ)
    return dash.Filters(centre=centre or None, body=organ or None)


@router.get("/overblik")
def dashboard(request: Request, centre: str = "", organ: str = "",
              user: CurrentUser = Depends(require("view_dashboard")),
              session: Session = Depends(db)):
    org = current_organisation()
    filters = _filters(centre, organ)
    day, now = today(), utcnow()
    figures = dash.figures(session, org, filters, today=day, now=now,
                           stale_weeks=get_settings().stale_weeks)
    weeks = dash.deadlines_by_week(session, org, filters, today=day)
    params = filters.query()
    chart = deadlines_chart(weeks, lambda monday: "/overblik/sager?" + _qs(
        {**params, "uge": monday.isoformat()}))
    overdue = next(f for f in figures if f.key == "overdue")
    return page(request, "dashboard.html", user=user, figures=figures, chart=chart,
                filters=filters, params=params,
                overdue_dates=dash.overdue_deadlines(session, [c.id for c in overdue.cases],
                                                     day))


def _qs(params: dict) -> str:
    return urlencode(params)


@router.get("/overblik/sager")
def dashboard_cases(request: Request, figur: str = "", uge: str = "", centre: str = "",
                    organ: str = "", user: CurrentUser = Depends(require("view_dashboard")),
                    session: Session = Depends(db)):
    org = current_organisation()
    filters = _filters(centre, organ)
    day = today()
    if uge:
        week = parse_date(uge)
        week -= timedelta(days=week.weekday())
        count, cases = dash.week_cases(session, org, filters, week, limit=500)
        title = f"Frister i uge {week.isocalendar().week} ({week.strftime('%d-%m-%Y')})"
    elif figur in dash.FIGURES:
        count, cases = dash.figure_cases(session, org, figur, filters, today=day, now=utcnow(),
                                         stale_weeks=get_settings().stale_weeks, limit=500)
        title = dash.FIGURES[figur]
    else:
        raise InvalidInput("Ukendt nøgletal.")
    return page(request, "dashboard_cases.html", user=user, title=title, count=count,
                cases=cases, filters=filters, params=filters.query(),
                overdue_dates=dash.overdue_deadlines(session, [c.id for c in cases], day))


# -- calendar address, API keys ----------------------------------------------------------------
# A new calendar address and a new API key are secrets: each is shown once, in the answer to the
# post that made it, and never put in the session cookie (signed, not encrypted: readable).

@router.get("/kalender")
def calendar_page(request: Request, user: CurrentUser = Depends(page_user)):
    return _calendar_page(request, user)


def _calendar_page(request: Request, user: CurrentUser, new_url: str | None = None):
    return page(request, "calendar.html", user=user, new_url=new_url,
                bodies=[b for b in current_organisation().bodies])


@router.post("/kalender/ny-adresse")
def new_calendar_address(request: Request, user: CurrentUser = Depends(page_user),
                         form: PostedForm = Depends(form_with_csrf)):
    with write(request) as session:
        token = tokens.new_feed_token(session, user.id)
    flash(request, "Din nye kalenderadresse er lavet; en tidligere adresse virker ikke mere.")
    return _calendar_page(request, user, new_url=str(request.base_url).rstrip("/")
                          + f"/feeds/personlig/{token}.ics")


@router.get("/api-noegler")
def api_keys(request: Request, user: CurrentUser = Depends(page_user),
             session: Session = Depends(db)):
    return page(request, "api_keys.html", user=user, new_token=None,
                keys=tokens.api_tokens_of(session, user.id))


@router.post("/api-noegler")
def create_api_key(request: Request, user: CurrentUser = Depends(page_user),
                   form: PostedForm = Depends(form_with_csrf)):
    with write(request) as session:
        token = tokens.new_api_token(session, user.id, form.get("name"))
        keys = tokens.api_tokens_of(session, user.id)
    return page(request, "api_keys.html", user=user, new_token=token, keys=keys)


@router.post("/api-noegler/{token_id}/tilbagekald")
def revoke_api_key(request: Request, token_id: int,
                   user: CurrentUser = Depends(page_user),
                   form: PostedForm = Depends(form_with_csrf)):
    with write(request) as session:
        tokens.revoke_api_token(session, user.id, token_id)
    flash(request, "API-nøglen er tilbagekaldt.")
    return redirect("/api-noegler")
