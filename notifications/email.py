"""Building a reminder's email: Danish text and HTML from templates/email/, a Message-ID
derived from the dedupe key, a link to the case and, for optional reminders, a link that
stops them.

Templates per kind: email/<kind>-subject.txt, email/<kind>-body.txt, email/<kind>-body.html
(the .html ones autoescaped by the shared environment, the .txt ones not).
"""

import hashlib
import re
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature, URLSafeSerializer

from cases.dates import format_date, parse_date
from cases.settings import get_settings, secret_key
from cases.templating import render
from notifications.outbox import opt_out
from notifications.rules import KINDS
from workflow.errors import InvalidInput

UNSUBSCRIBE_SALT = "sagsgang-reminders-unsubscribe"
# Where the web application serves the links (web.public).
REMINDERS_UNSUBSCRIBE_PATH = "/paamindelser/afmeld/"
FOLLOW_UNSUBSCRIBE_PATH = "/afmeld/"

# News for followers (notifications.follow): outbox rows like reminders, but stopped by
# ending the subscription, not by a reminder opt-out.
FOLLOW_CASE = "follow-case"
FOLLOW_AGENDA = "follow-agenda"
# For citizens without an account (notifications.citizens): the one confirmation mail, the
# minutes of a body they follow, and the items of a publication matching their search phrase.
FOLLOW_CONFIRM = "follow-confirm"
FOLLOW_MINUTES = "follow-minutes"
FOLLOW_SEARCH = "follow-search"
FOLLOW_KINDS = {FOLLOW_CASE: "Nyt i en sag, du følger",
                FOLLOW_AGENDA: "Dagsorden fra et udvalg, du følger",
                FOLLOW_CONFIRM: "Bekræft, at du vil følge med",
                FOLLOW_MINUTES: "Referat fra et udvalg, du følger",
                FOLLOW_SEARCH: "Nyt om et emne, du følger"}
CONFIRM_PATH = "/offentlig/foelg/bekraeft/"


# A character that ends a header line or hides in one. An address or name holding one (an old
# row, from before addresses were checked where they enter) would add headers or recipients.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# One plain address, nothing around it: no name, no second address, no brackets or quotes.
_ONE_ADDRESS = re.compile(r"[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+")
_WRITTEN_OUT = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def written_out(text: str) -> str:
    """The text with its line breaks and other control characters written out (\\r, \\n,
    \\x00), to show an address exactly as it is stored, on one line."""
    return _CONTROL.sub(lambda m: _WRITTEN_OUT.get(m[0], f"\\x{ord(m[0]):02x}"), text)


def recipient_problem(recipient: str, name: str) -> str | None:
    """Why a mail to this recipient cannot be built safely, in Danish; None when it can.

    Addresses are validated where they enter (cases.schemas); this is the outbox's own guard
    for rows written before that, and for anything that reached the table another way.
    """
    if _CONTROL.search(recipient) or _CONTROL.search(name):
        shown = written_out(recipient if _CONTROL.search(recipient) else name)
        return ("Modtagerens adresse eller navn indeholder et linjeskift eller et andet "
                f"styretegn: {shown}")
    if not _ONE_ADDRESS.fullmatch(recipient):
        return f"Modtagerens adresse er ikke én gyldig e-mailadresse: {recipient}"
    if not recipient.isascii():
        # The message is built for plain SMTP (no SMTPUTF8): formataddr refuses these.
        return f"Modtagerens adresse indeholder æ, ø, å eller andre særlige tegn: {recipient}"
    return None


def sender_address() -> str:
    return get_settings().mail_from


def message_id(dedupe_key: str) -> str:
    """The same key always gives the same Message-ID, so a resend is recognisably the same."""
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    host = urlsplit(get_settings().site_url).hostname or "localhost"
    return f"<reminder.{digest}@{host}>"


def case_url(number: str) -> str:
    return f"{get_settings().site_url}/sager/{quote(number, safe='')}"


# -- stopping optional reminders ---------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(), salt=UNSUBSCRIBE_SALT)


# One signed-token scheme for every link that stops email without a login: a reminder kind
# for an address ({"e", "k"}) or one follow subscription ({"s"}); and for the link that
# confirms a citizen's subscription ({"c"}). The signature is the permission, so the link
# cannot be guessed or altered.

def unsubscribe_token(email: str, kind: str) -> str:
    """A signed token naming the address and the kind of reminder ("*": all optional)."""
    return _serializer().dumps({"e": email.lower(), "k": kind})


def follow_unsubscribe_token(subscription_id: int) -> str:
    """A signed token naming one follow subscription (notifications.models.Subscription)."""
    return _serializer().dumps({"s": subscription_id})


def confirm_token(subscription_id: int) -> str:
    """A signed token confirming one (public) subscription; a different key from the
    unsubscribe token's, so neither link can stand for the other."""
    return _serializer().dumps({"c": subscription_id})


def _signed(token: str) -> dict | None:
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def read_unsubscribe_token(token: str) -> tuple[str, str] | None:
    """(email, kind) from a genuine reminder token; None for a forged or damaged one."""
    data = _signed(token)
    if data is None or data.get("k") not in (*KINDS, "*"):
        return None
    return str(data.get("e", "")), data["k"]


def read_follow_token(token: str, key: str = "s") -> int | None:
    """The subscription id from a genuine follow token ("c": a confirmation token); None
    otherwise."""
    data = _signed(token)
    found = data.get(key) if data else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def unsubscribe(session, token: str, now) -> tuple[str, str]:
    """Record the opt-out a link carries (for the web page that serves the link); returns
    (email, kind). A forged or damaged token is a clear Danish error and writes nothing."""
    found = read_unsubscribe_token(token)
    if found is None:
        raise InvalidInput("Linket til at framelde påmindelser er ugyldigt eller beskadiget.")
    email, kind = found
    opt_out(session, email, kind, now)
    return email, kind


def unsubscribe_url(email: str, kind: str) -> str:
    return f"{get_settings().site_url}{REMINDERS_UNSUBSCRIBE_PATH}{unsubscribe_token(email, kind)}"


def follow_unsubscribe_url(subscription_id: int) -> str:
    return (f"{get_settings().site_url}{FOLLOW_UNSUBSCRIBE_PATH}"
            f"{follow_unsubscribe_token(subscription_id)}")


# -- rendering ---------------------------------------------------------------------------------

def render_parts(kind: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) for a reminder of this kind."""
    subject = render(f"email/{kind}-subject.txt", **context)
    subject = " ".join(subject.split())  # one line, whatever the title held
    text = render(f"email/{kind}-body.txt", **context)
    html = render(f"email/{kind}-body.html", **context)
    return subject, text, html


def template_context(*, kind: str, recipient: str, recipient_name: str, optional: bool,
                     context: dict, case=None, extra: dict | None = None) -> dict:
    values = dict(context)
    for name in ("deadline", "due_date", "meeting_day", "submission", "agenda_out",
                 "objection_deadline", "decided_on"):
        if values.get(name):
            values[name] = parse_date(values[name])
    site_url = get_settings().site_url
    result = {
        **values,
        **(extra or {}),
        "kind": kind,
        "kind_label": KINDS.get(kind) or FOLLOW_KINDS[kind],
        "recipient_name": recipient_name,
        "case": case,
        "case_url": case_url(case.number) if case is not None else site_url,
        "site_url": site_url,
        "unsubscribe_url": unsubscribe_url(recipient, kind) if optional else "",
        "format_date": format_date,
    }
    if case is None and values.get("case_number"):  # a row kept apart from the case's own
        result["case_url"] = case_url(values["case_number"])
    if kind in FOLLOW_KINDS:
        result["unsubscribe_url"] = follow_unsubscribe_url(values["subscription_id"])
        if kind == FOLLOW_CONFIRM:
            result["confirm_url"] = (f"{site_url}{CONFIRM_PATH}"
                                     f"{confirm_token(values['subscription_id'])}")
        if values.get("meeting_id"):
            result["meeting_url"] = f"{site_url}/offentlig/moeder/{values['meeting_id']}"
    return result


def build_message(*, dedupe_key: str, recipient: str, recipient_name: str, subject: str,
                  text: str, html: str, unsubscribe: str, now) -> MIMEMultipart:
    """multipart/alternative, text then HTML, UTF-8 in base64 (short lines, any content).

    Built with the compat32 MIME classes rather than EmailMessage: the header registry of
    the newer policies costs several milliseconds per message here, as much as sending it.
    """
    message = MIMEMultipart("alternative")
    message["Subject"] = Header(subject, "utf-8")
    name, address = parseaddr(sender_address())
    message["From"] = formataddr((name, address), "utf-8")
    message["To"] = formataddr((recipient_name, recipient), "utf-8")
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(dedupe_key)
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        # RFC 8058 one-click: the mail client POSTs to the link, which the web serves
        # without a login (a GET there only asks for confirmation).
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    return message
