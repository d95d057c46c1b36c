"""Following without an account: a citizen follows a body's published agendas and minutes, or
a search phrase ("Vestvolden"), by email (the page is web.citizens).

**Double opt-in.** Signing up stores a public subscription, not yet confirmed, and queues
exactly one mail: the confirmation, with a signed link (notifications.email.confirm_token).
Until the link is used, nothing else is sent to the address (notifications.follow.counting);
signing up again for the same thing queues no second mail. A link not used within
CONFIRM_DAYS has expired; signing up again then starts afresh.

**Only what the public portal shows.** A citizen never gets a case's news (followers_of_case
leaves them out), only publications: an agenda or tillægsdagsorden as it was published, and
the minutes once final. A closed item (meetings.visibility) is listed by number and title at
most, and never matched against a search phrase; its text and decision are never put in a
row, and the delivery asks again when the mail is built (follow.served_context), because an
item can become closed while its mail waits.

**One mail per publication per subscription**, derived by the beat's sweep
(notifications.changes) like the followers' agenda news, with dedupe keys naming the
subscription and the publication, so a repeated sweep adds nothing. A body's follower gets
the body's digest (follow.agenda_published, and `minutes_published` here); a search phrase
gets one mail listing the publication's matching items, matched by the project's Danish
stems (meetings.searchtext.matches), and none when nothing matches or the address gets the
body's digest anyway.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from cases import queries as case_queries
from cases.dates import COPENHAGEN
from cases.models import Case
from cases.organisation import HEARING_COUNCIL
from cases.schemas import checked_email, checked_text
from cases.settings import current_organisation
from meetings import queries, searchtext
from meetings.models import AGENDA_PUBLISHED, AgendaItem, AgendaPublication, Meeting
from meetings.visibility import item_is_closed
from notifications import follow
from notifications.email import FOLLOW_CONFIRM, FOLLOW_MINUTES, FOLLOW_SEARCH
from notifications.models import Subscription
from notifications.rules import Person, Wanted
from workflow import decisions
from workflow.errors import InvalidInput

CONFIRM_DAYS = 7
MAX_PHRASE = 100


# -- signing up and confirming ----------------------------------------------------------------

def sign_up(session: Session, *, email: str, body_code: str = "", phrase: str = "",
            now: datetime) -> Subscription:
    """The citizen's subscription to a body (`body_code`) or a search phrase (within the
    body, if one is given too), with its one confirmation mail queued. Signing up again for
    what the address follows or waits to confirm changes nothing and sends nothing."""
    email = checked_email(email).lower()
    body_code, phrase = body_code.strip(), " ".join(phrase.split())
    phrase = checked_text(phrase, "Søgeordet", max_length=MAX_PHRASE)
    if body_code:
        check_body(body_code)
    if phrase and not searchtext.parse(phrase):
        raise InvalidInput("Søgeordet skal indeholde mindst ét ord (bogstaver eller tal).")
    if not body_code and not phrase:
        raise InvalidInput("Vælg et udvalg, eller skriv et søgeord.")
    _one_at_a_time(session, email)
    found = session.exec(select(Subscription).where(
        Subscription.public.is_(True), Subscription.ended_at.is_(None),
        Subscription.email == email,
        Subscription.body_code == body_code if body_code else Subscription.body_code.is_(None),
        sa.func.lower(Subscription.search_phrase) == phrase.lower() if phrase
        else Subscription.search_phrase.is_(None))).first()
    if found is not None and not expired(found, now):
        return found
    if found is not None:  # a link never used: that sign-up ends, a new one begins
        follow_end(session, found, now)
    row = Subscription(email=email, public=True, body_code=body_code or None,
                       search_phrase=phrase or None, created_at=now)
    session.add(row)
    session.flush()
    confirmation = Wanted(key=f"{follow.subscription_prefix(row.id)}confirm",
                          kind=FOLLOW_CONFIRM, recipient=Person(email=email, name=""),
                          due_at=now, optional=False,
                          context={"subscription_id": row.id, "what": described(row),
                                   "municipality": current_organisation().name,
                                   "confirm_days": CONFIRM_DAYS})
    follow.insert_news(session, [confirmation], now)
    return row


def _one_at_a_time(session: Session, email: str) -> None:
    """Two sign-ups of one address at once (a double click) must not both find nothing and
    both send a confirmation: on PostgreSQL the second waits for the first's transaction
    (a lock on the address, released at its end); SQLite runs one write at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:email))"),
                        {"email": f"sagsgang-follow:{email}"})


def check_body(code: str) -> None:
    """A body the public portal lists (not a hearing council); a Danish error otherwise."""
    body = current_organisation().body(code)
    if body.kind == HEARING_COUNCIL:
        raise InvalidInput(f"{body.name} har ingen offentlige dagsordener. Vælg et udvalg "
                           "på listen.")


def expired(subscription: Subscription, now: datetime) -> bool:
    """An unconfirmed sign-up whose link is too old to be used."""
    return subscription.confirmed_at is None and \
        now - subscription.created_at > timedelta(days=CONFIRM_DAYS)


def confirm(session: Session, subscription: Subscription, now: datetime) -> None:
    """The link of the confirmation mail was used: from now on the subscription counts.
    Confirming twice is harmless."""
    if subscription.ended_at is not None:
        raise InvalidInput("Tilmeldingen er afmeldt. Tilmeld dig igen, hvis du vil følge "
                           "med.")
    if subscription.confirmed_at is not None:
        return
    if expired(subscription, now):
        raise InvalidInput(f"Linket er udløbet (det gælder i {CONFIRM_DAYS} dage). Tilmeld "
                           "dig igen for at få et nyt.")
    subscription.confirmed_at = now
    session.add(subscription)
    session.flush()


def follow_end(session: Session, subscription: Subscription, now: datetime) -> None:
    subscription.ended_at = now
    session.add(subscription)
    follow.cancel_pending(session, subscription.id, now)


def described(subscription: Subscription) -> str:
    """What the subscription follows, as a sentence continues ("Du følger …")."""
    org = current_organisation()
    body = org.body_name(subscription.body_code) if subscription.body_code else ""
    if subscription.search_phrase:
        return f"søgeordet »{subscription.search_phrase}«" + (f" i {body}" if body else "")
    return f"{body}s dagsordener og referater"


# -- news of a publication (called by the sweep, notifications.changes) -------------------------

def publication_news(session: Session, meeting: Meeting, publication: AgendaPublication,
                     now: datetime) -> int:
    """The search-phrase mails of a published agenda (or tillægsdagsorden): its published
    items; the body's followers are told by follow.agenda_published. Returns rows wanted."""
    items = list(session.exec(select(AgendaItem).where(
        AgendaItem.published_in == publication.id).order_by(AgendaItem.number)))
    told = {s.email.lower() for s in follow.followers_of_body(session, meeting.body_code)}
    context = _meeting_context(meeting) | {"supplementary": publication.kind == "tillaeg",
                                           "minutes": False}
    return _search_news(session, meeting, items, f"agenda:{publication.id}", context,
                        told, None, now)


def minutes_published(session: Session, meeting: Meeting, now: datetime) -> int:
    """The final minutes of a meeting whose agenda the public saw: one digest for each
    citizen following the body, one mail per search phrase that matches. Only to those who
    confirmed before the minutes became final: the minutes are news when they come out."""
    if meeting.minutes_final_at is None or meeting.agenda_status != AGENDA_PUBLISHED:
        return 0
    items = public_items(session, meeting)
    context = _meeting_context(meeting) | {"minutes": True}
    since = meeting.minutes_final_at
    followers = follow.one_per_address([
        s for s in follow.followers_of_body(session, meeting.body_code)
        if s.public and s.confirmed_at <= since])
    what = f"minutes:{meeting.id}"
    lines = [_line(session, item, minutes=True)[0] for item in items]
    wanted = [follow.wanted_news(session, s, FOLLOW_MINUTES, what, context | {"items": lines},
                                 now) for s in followers]
    follow.insert_news(session, wanted, now)
    told = {s.email.lower() for s in followers}
    return len(wanted) + _search_news(session, meeting, items, what, context, told, since, now)


def public_items(session: Session, meeting: Meeting) -> list[AgendaItem]:
    """The items the public portal shows of the meeting, as web.public.published_items
    decides: those published (a meeting from before publications were kept: all)."""
    items = queries.items(session, meeting.id)
    if queries.publications(session, meeting.id):
        items = [item for item in items if item.published_in is not None]
    return items


def _search_news(session: Session, meeting: Meeting, items: list[AgendaItem], what: str,
                 context: dict, told: set[str], confirmed_by: datetime | None,
                 now: datetime) -> int:
    """One mail per search phrase (of this body, or of every body) that matches an open item
    among `items`, for the addresses not `told` by a digest already."""
    subscribers = [s for s in phrase_followers(session, meeting.body_code)
                   if s.email.lower() not in told
                   and (confirmed_by is None or s.confirmed_at <= confirmed_by)]
    if not subscribers:
        return 0
    lines = [_line(session, item, minutes=context["minutes"]) for item in items]
    # Each text stemmed once, and each phrase matched once, however many follow it.
    open_lines = [(line, text, searchtext.Stemmed.of(text)) for line, text in lines
                  if not line["closed"]]
    matched: dict[str, list[dict]] = {}
    wanted = []
    for subscription in subscribers:
        phrase = subscription.search_phrase
        if phrase not in matched:
            matched[phrase] = _matching(searchtext.parse(phrase), open_lines)
        found = matched[phrase]
        if found:
            wanted.append(follow.wanted_news(
                session, subscription, FOLLOW_SEARCH, what,
                context | {"items": found, "phrase": subscription.search_phrase}, now))
    follow.insert_news(session, wanted, now)
    return len(wanted)


def _matching(query: searchtext.Query, lines: list) -> list[dict]:
    """The lines whose text matches, each with the words around the first match."""
    return [line | {"snippet": searchtext.plain(searchtext.snippet(text, query.stems))}
            for line, text, stems in lines if searchtext.matches(query, stems)]


def phrase_followers(session: Session, body_code: str) -> list[Subscription]:
    return list(session.exec(select(Subscription).where(
        *follow.counting(), Subscription.search_phrase.is_not(None),
        sa.or_(Subscription.body_code.is_(None), Subscription.body_code == body_code))
        .order_by(Subscription.id)))


def _meeting_context(meeting: Meeting) -> dict:
    return {"body": current_organisation().body_name(meeting.body_code),
            "meeting_id": meeting.id,
            "meeting_day": meeting.starts_at.astimezone(COPENHAGEN).date().isoformat()}


def _line(session: Session, item: AgendaItem, *, minutes: bool) -> tuple[dict, str]:
    """An item's line in a citizen's mail, and the text a search phrase is matched against:
    what the public portal shows of it. A closed item: its number and title, and no text."""
    case = session.get(Case, item.case_id) if item.case_id else None
    closed = item_is_closed(session, item, case)
    line = {"item_id": item.id, "number": item.number, "title": item.title, "closed": closed,
            "case_number": case.number if case and not closed else ""}
    if closed:
        return line, ""
    decision = decisions.BY_CODE.get(item.wording or "") if minutes else None
    line |= {"decision": decision.label if decision else "",
             "decision_text": item.decision_text if minutes else ""}
    texts = [item.title, item.text, item.attachments_note]
    if case is not None:
        texts += [case.summary, case.background, case.presentation, case.economy]
        texts += [p.text for p in case_queries.proposals(session, case.id)]
    if minutes:
        texts += [line["decision"], item.decision_text]
    return line, "\n\n".join(text for text in texts if text)
