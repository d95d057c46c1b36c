"""A pure parser of a published agenda with decisions in Ballerup's text format.

The format is text extracted from the published PDF: items start with "Punkt N Title",
sections with a heading on its own line (Sammendrag, Baggrund, ...), and numbered lists lost
their numbers to the end of the list item's first line ("... tages til efterretning. 1.").
Page breaks show as three or more blank lines, sometimes in the middle of a sentence.

The parser reads what it recognises and lists in `problems` every part it could not read;
it never fills a gap with a guess. Deciding which body or centre a name means is left to the
loader (meetings.importer), which knows the organisation.
"""

import re
from dataclasses import dataclass, field
from datetime import date, time

from workflow import decisions

HEADINGS = ("Indhold", "Sammendrag", "Baggrund", "Sagsfremstilling",
            "Økonomiske konsekvenser og finansiering", "Bilag", "Beslutningen træffes af",
            "Indstilling", "Beslutning", "Beslutningshistorik", "Tidligere behandling",
            "Beskrivelse")
TEXT_SECTIONS = {"Sammendrag": "summary", "Baggrund": "background",
                 "Sagsfremstilling": "presentation",
                 "Økonomiske konsekvenser og finansiering": "economy"}
MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
          "oktober", "november", "december")

ITEM_START = re.compile(r"^Punkt (\d{1,3}) (\S.*)$")
RECOMMENDER = re.compile(r"^(?P<who>.+?) indstiller,? at\s*[;:]?$")
EARLIER = re.compile(r"^(?P<body>.+?) den (?P<day>\d{1,2})\. (?P<month>[a-zæøå]+) (?P<year>\d{4})"
                     r" Punkt (?P<item>\d{1,3})(?::\s*(?P<note>.*))?$")
HISTORY_MADE_BY = re.compile(r"^Beslutning truffet af (?P<body>.+?) d\. "
                             r"(?P<date>\d{2}-\d{2}-\d{4})(?:,? [Pp]unkt (?P<item>\d{1,3}))?$")
HISTORY_BODY_DATE = re.compile(r"^(?P<body>.+?) (?P<date>\d{2}-\d{2}-\d{4})"
                               r" Punkt (?P<item>\d{1,3})$")
PROPOSAL_DECISION = re.compile(r"^Indstilling(?:ens|en) punkt (\d{1,2}):\s*(.*)$", re.S)
ROUTE_SENTENCE = re.compile(r"Sagen (?:behandles|forelægges) i (?P<bodies>[^.]+)\.")
ROUTE_SPLIT = re.compile(r",\s*|\s+samt\s+(?:i\s+)?|\s+og\s+i\s+|(?<!-)\s+og\s+(?=[A-ZÆØÅ])")
ATTACHMENT_COUNT = re.compile(r"^\d+ bilag\b")
SOURCE_URL = re.compile(r"^Source URL:\s*(\S+)\s*$")
MEETING_SLUG = re.compile(r"/(?P<body>[a-zæøå-]+?)-(?P<date>\d{2}-\d{2}-\d{4})/?$")

# Decision openings read as a standard wording, besides the wordings' own labels.
WORDING_VARIANTS = {"sagen sendes tilbage": "sendes_tilbage",
                    "indstillingen godkendt": "godkendt"}
# "Socialudvalget er enige om at ..." states what the body decided, unanimously: an approval.
AGREED = re.compile(r"^(?:udvalget|[a-zæøå-]+udvalget|kommunalbestyrelsen|byrådet)"
                    r" er enige? om\b")
# An approval that sends the matter to hearing in the same decision.
SENT_TO_HEARING = re.compile(r"\b(?:sendt|sendes) (?:til|i) høring\b", re.I)
# A decision answered in free text that hints at another outcome is not read as any wording.
OTHER_OUTCOME = re.compile(r"udsæt|udsat|tilbage|ny sag|høring|ikke godkend|afvis|udgår",
                           re.I)
# Named members with their party letter taking their own position: a minority note.
# "Anna Andersen (A), Bo Berg (A) og Carl Carlsen (A) anbefaler ..."
MEMBER = r"[A-ZÆØÅ][^\s(),]*(?: [A-ZÆØÅ][^\s(),]*)* \([A-ZÆØÅ]{1,3}\)"
MINORITY = re.compile(rf"^{MEMBER}(?:(?:,? og |, ){MEMBER})* (?:anbefaler|går ind for|"
                      r"ønsker|stemmer|tager forbehold|kan ikke)\b")


@dataclass
class Treatment:
    """An earlier treatment: a "Tidligere behandling" line or a "Beslutningshistorik" entry."""

    body: str  # as written ("Klima- og Miljøudvalgets", "Social- og Sundhedsudvalget")
    day: date
    item: int | None = None
    note: str = ""  # the earlier item's title, when the line gives one
    decision: str = ""  # the decision text (Beslutningshistorik only)


@dataclass
class Item:
    number: int
    title: str
    standing: str | None = None  # "meddelelser", "godkendelse_af_referat"
    summary: str = ""
    background: str = ""
    presentation: str = ""
    economy: str = ""
    description: str = ""  # Beskrivelse (Meddelelser), messages numbered "1. ..."
    attachments_note: str = ""
    deciding_body: str = ""  # as written ("Socialudvalget")
    recommender: str = ""  # "Center for Voksne og Sundhed"
    proposals: list[str] = field(default_factory=list)
    recommendation_text: str = ""  # an Indstilling without numbered proposals
    decision_text: str = ""
    proposal_decisions: list[tuple[int, str]] = field(default_factory=list)
    minority: str = ""  # named members' own position, also kept in the decision text
    earlier: list[Treatment] = field(default_factory=list)  # Tidligere behandling
    history: list[Treatment] = field(default_factory=list)  # Beslutningshistorik
    route: list[str] = field(default_factory=list)  # bodies named in "Sagen behandles i ..."
    # Read from the web layout (meetings.referat_web):
    closed: bool = False  # lukket punkt
    supplementary: bool = False  # on the tillægsdagsorden
    former_number: int | None = None  # "(tidligere punkt 3)": renumbered by a tillæg
    withdrawn: bool = False  # "Sag N udgår"
    line: int | None = None  # the line its heading is on

    @property
    def sent_out_number(self) -> int | None:
        """Its number on the agenda as first sent out (None: added by a tillæg)."""
        if self.former_number is not None:
            return self.former_number
        return None if self.supplementary else self.number

    @property
    def wording(self) -> str | None:
        """The standard wording of the decision, or None if it is free text or mixed.

        Per proposal: the wordings found must agree; a proposal answered in free text
        ("ingen yderligere anbefalinger") keeps its text and does not change the item's
        wording, unless that text hints at another outcome (udsat, tilbage, høring ...).
        An approval whose text sends the matter to hearing is "Godkendt og sendes i høring".
        """
        texts = [text for _, text in self.proposal_decisions] or [self.decision_text]
        found = {recognise_wording(text) for text in texts if text}
        free = [text for text in texts if text and recognise_wording(text) is None]
        found.discard(None)
        if len(found) != 1 or any(OTHER_OUTCOME.search(text) for text in free):
            return None
        wording = found.pop()
        if wording == "godkendt" and any(SENT_TO_HEARING.search(text) for text in texts):
            return "godkendt_til_hoering"
        return wording


@dataclass
class Attendance:
    """A member on the attendance list, as written: present (Deltog) or not (Afbud, ...)."""

    name: str  # "Anne Holm (A)"
    present: bool
    note: str = ""  # the status as written when not present: "Afbud", "Deltog ikke under ..."


@dataclass
class Referat:
    items: list[Item]
    source_url: str = ""
    problems: list[str] = field(default_factory=list)
    # What a web referat's head says (meetings.referat_web); the PDF text says none of it.
    body_name: str = ""
    day: date | None = None
    starts: time | None = None
    place: str = ""
    attendance: list[Attendance] = field(default_factory=list)

    def meeting_hint(self) -> tuple[str, date] | None:
        """(body name slug, meeting day) from the source address, if it says."""
        found = MEETING_SLUG.search(self.source_url)
        if not found:
            return None
        day, month, year = (int(x) for x in found["date"].split("-"))
        return found["body"], date(year, month, day)


def recognise_wording(text: str) -> str | None:
    """The wording code a decision text starts with ("Taget til efterretning" ...), or None."""
    lowered = " ".join(text.split()).lower()
    openings = {w.label.lower(): w.code for w in decisions.WORDINGS
                if w.trigger != "record_earlier"} | WORDING_VARIANTS
    for opening in sorted(openings, key=len, reverse=True):
        if lowered.startswith(opening):
            rest = lowered[len(opening):]
            if not rest or not rest[0].isalpha():
                return openings[opening]
    if AGREED.match(lowered):
        return "godkendt"
    return None


# -- paragraphs --------------------------------------------------------------------------------

def paragraphs(text: str) -> list[list[str]]:
    """Non-empty line groups. After a page break (3+ blank lines) a paragraph that starts in
    lower case continues the one before (the break fell in the middle of a sentence)."""
    found: list[list[str]] = []
    current: list[str] = []
    blanks = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            blanks += 1
            continue
        if current and blanks:
            found.append(current)
            current = []
        if not current and found and blanks >= 3 and line[0].islower():
            current = found.pop()
        current.append(line)
        blanks = 0
    if current:
        found.append(current)
    return found


def _joined(lines: list[str]) -> str:
    return " ".join(lines).strip()


def _text(paras: list[list[str]]) -> str:
    return "\n\n".join("\n".join(p) for p in paras)


def _strip_marker(lines: list[str], number: int) -> str | None:
    """The list item's text if its first line ends with the lost number "N."; else None."""
    first = lines[0]
    marker = f"{number}."
    if not first.endswith(marker):
        return None
    head = first[: -len(marker)].rstrip()
    if not head:
        return None
    return _joined([head, *lines[1:]])


def _parse_day(day: str, month: str, year: str) -> date | None:
    if month not in MONTHS:
        return None
    try:
        return date(int(year), MONTHS.index(month) + 1, int(day))
    except ValueError:
        return None


def _parse_dmy(text: str) -> date | None:
    day, month, year = (int(x) for x in text.split("-"))
    try:
        return date(year, month, day)
    except ValueError:
        return None


# -- the document ------------------------------------------------------------------------------

def parse_referat(text: str) -> Referat:
    referat = Referat(items=[])
    blocks: list[tuple[int, str, list[list[str]]]] = []  # (item number, title, paragraphs)
    preamble: list[list[str]] = []
    for para in paragraphs(text):
        url = SOURCE_URL.match(para[0])
        if url:
            referat.source_url = url.group(1)
            continue
        start = ITEM_START.match(para[0])
        if start:
            blocks.append((int(start.group(1)), _joined([start.group(2), *para[1:]]), []))
        elif blocks:
            blocks[-1][2].append(para)
        else:
            preamble.append(para)
    if preamble:
        referat.problems.append("Tekst før første punkt blev ikke læst: "
                                f"«{_joined(preamble[0])[:80]}»")
    if not blocks:
        referat.problems.append("Ingen punkter fundet (linjer, der begynder med «Punkt N»).")
    for number, title, paras in blocks:
        referat.items.append(_parse_item(number, title, paras, referat.problems))
    expected = list(range(1, len(referat.items) + 1))
    if [i.number for i in referat.items] != expected:
        referat.problems.append("Punkternes numre er ikke fortløbende: "
                                + ", ".join(str(i.number) for i in referat.items))
    return referat


def _sections(paras: list[list[str]]) -> list[tuple[str, list[list[str]]]]:
    """Split an item's paragraphs at headings; a heading may carry text on following lines."""
    sections: list[tuple[str, list[list[str]]]] = [("", [])]
    for para in paras:
        if para[0] in HEADINGS:
            sections.append((para[0], [para[1:]] if len(para) > 1 else []))
        else:
            sections[-1][1].append(para)
    return sections


def _parse_item(number: int, title: str, paras: list[list[str]], problems: list[str]) -> Item:
    item = Item(number=number, title=title)
    if title == "Meddelelser":
        item.standing = "meddelelser"
    elif title.startswith("Godkendelse af referat"):
        item.standing = "godkendelse_af_referat"
    where = f"Punkt {number}"
    sections = _sections(paras)
    if sections[0][1]:
        problems.append(f"{where}: tekst før første overskrift blev ikke læst: "
                        f"«{_joined(sections[0][1][0])[:80]}»")
    if any(heading == "Beskrivelse" for heading, _ in sections):
        sections = _read_messages(item, sections, problems)
    for heading, content in sections[1:]:
        if heading in TEXT_SECTIONS:
            setattr(item, TEXT_SECTIONS[heading], _text(content))
        elif heading == "Bilag":
            _read_attachments(item, content, problems)
        elif heading == "Beslutningen træffes af":
            item.deciding_body = _joined([line for p in content for line in p])
        elif heading == "Indstilling":
            _read_recommendation(item, content, problems)
        elif heading == "Beslutning":
            _read_decision(item, content)
        elif heading == "Tidligere behandling":
            _read_earlier(item, content, problems)
        elif heading == "Beslutningshistorik":
            _read_history(item, content, problems)
        elif heading == "Indhold" and content:
            problems.append(f"{where}: tekst under «Indhold» blev ikke læst.")
    for text in (item.summary, item.background, item.presentation):
        for sentence in ROUTE_SENTENCE.finditer(" ".join(text.split())):
            for name in ROUTE_SPLIT.split(sentence["bodies"].strip()):
                if name.strip() and name.strip() not in item.route:
                    item.route.append(name.strip())
    return item


def _read_messages(item: Item, sections, problems) -> list:
    """Meddelelser: numbered messages, each perhaps followed by its own "Bilag" count."""
    where = f"Punkt {item.number}, Beskrivelse"
    messages: list[str] = []
    rest = [sections[0]]
    reading = False
    for heading, content in sections[1:]:
        if heading == "Beskrivelse":
            reading = True
        elif heading != "Bilag" or not reading:
            reading = False
            rest.append((heading, content))
            continue
        for para in content:
            if heading == "Bilag" and ATTACHMENT_COUNT.match(para[0]) and messages:
                messages[-1] += f" (Bilag: {_joined(para)})"
                continue
            text = _strip_marker(para, len(messages) + 1)
            if text is None:
                problems.append(f"{where}: kunne ikke læse «{_joined(para)[:80]}»")
            else:
                messages.append(f"{len(messages) + 1}. {text}")
    item.description = "\n\n".join(messages)
    return rest


def _read_attachments(item: Item, content, problems) -> None:
    if not content or not ATTACHMENT_COUNT.match(content[0][0]):
        problems.append(f"Punkt {item.number}, Bilag: antallet af bilag kunne ikke læses.")
    item.attachments_note = _text(content)


def _read_recommendation(item: Item, content, problems) -> None:
    if not content:
        problems.append(f"Punkt {item.number}, Indstilling: tom.")
        return
    who = RECOMMENDER.match(_joined(content[0]))
    if not who:
        item.recommendation_text = _text(content)
        return
    item.recommender = who["who"]
    for para in content[1:]:
        text = _strip_marker(para, len(item.proposals) + 1)
        if text is None:
            problems.append(f"Punkt {item.number}, Indstilling: kunne ikke læse punkt "
                            f"{len(item.proposals) + 1}: «{_joined(para)[:80]}»")
            return
        item.proposals.append(text)
    if not item.proposals:
        problems.append(f"Punkt {item.number}, Indstilling: ingen nummererede punkter.")


def _read_decision(item: Item, content) -> None:
    texts = [_joined(p) for p in content]
    item.minority = "\n\n".join(text for text in texts if MINORITY.match(text))
    if texts and PROPOSAL_DECISION.match(texts[0]):
        for text in texts:
            found = PROPOSAL_DECISION.match(text)
            if found:
                item.proposal_decisions.append((int(found.group(1)), found.group(2).strip()))
            else:
                number, previous = item.proposal_decisions[-1]
                item.proposal_decisions[-1] = (number, f"{previous}\n\n{text}")
    else:
        item.decision_text = "\n\n".join(texts)


def _read_earlier(item: Item, content, problems) -> None:
    for para in content:
        line = _joined(para)
        found = EARLIER.match(line)
        day = found and _parse_day(found["day"], found["month"], found["year"])
        if not day:
            problems.append(f"Punkt {item.number}, Tidligere behandling: kunne ikke læse "
                            f"«{line[:80]}»")
            continue
        body = found["body"].removesuffix(" møde").strip()
        item.earlier.append(Treatment(body=body, day=day, item=int(found["item"]),
                                      note=(found["note"] or "").strip()))


def _read_history(item: Item, content, problems) -> None:
    waiting: Treatment | None = None  # a "Body dd-mm-yyyy Punkt N / Beslutning" entry
    for para in content:
        made_by = HISTORY_MADE_BY.match(para[0])
        body_date = HISTORY_BODY_DATE.match(para[0])
        if made_by and _parse_dmy(made_by["date"]):
            item.history.append(Treatment(
                body=made_by["body"], day=_parse_dmy(made_by["date"]),
                item=int(made_by["item"]) if made_by["item"] else None,
                decision=_joined(para[1:])))
            waiting = None if len(para) > 1 else item.history[-1]
        elif body_date and _parse_dmy(body_date["date"]) and para[1:] in ([], ["Beslutning"]):
            waiting = Treatment(body=body_date["body"], day=_parse_dmy(body_date["date"]),
                                item=int(body_date["item"]))
            item.history.append(waiting)
        elif waiting is not None and not waiting.decision:
            waiting.decision = _joined(para)
            waiting = None
        else:
            problems.append(f"Punkt {item.number}, Beslutningshistorik: kunne ikke læse "
                            f"«{_joined(para)[:80]}»")
    for entry in item.history:
        if not entry.decision:
            problems.append(f"Punkt {item.number}, Beslutningshistorik: {entry.body} "
                            f"{entry.day:%d-%m-%Y} har ingen beslutning.")
