"""A pure parser of a referat as municipalities publish it on the web: the HTML page, or its
text (copied from the browser, or saved as text).

The page starts with the body's name, the meeting's date and time ("07.11.2022 kl. 17:00"),
the place and the attendance list ("Deltagere", each "Navn (A) – Deltog"; "AFBUD/FRAVÆRENDE",
each "Navn (V) – Afbud"). Then the items, "N. Titel", in parts: "Åben dagsorden",
"Tillægsdagsorden" (items added after the agenda went out; an item it pushed on says
"(tidligere punkt N)") and "Lukket dagsorden" (lukket punkt). Each item has its sections
(Beskrivelse or Resumé, Sagsfremstilling, Indstilling, Beslutning, Tidligere behandling,
Bilag); "Sag N udgår" takes an item off, by its number on the agenda as sent out.

As meetings.referat does for the PDF text, it reads what it recognises and lists every part
it could not read in `problems`, here with the line it is on ("Linje 14: ..."; of the HTML
file for a page). `read_referat` takes either layout and tells them apart.
"""

import re
from dataclasses import dataclass
from datetime import date, time
from html.parser import HTMLParser

from meetings.referat import Attendance, Item, Referat, Treatment, parse_referat, recognise_wording

WHEN = re.compile(r"^(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4}),? kl\. "
                  r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})$")
ITEM_HEADING = re.compile(r"^(?P<number>\d{1,3})\. (?P<title>\S.*)$")
FORMER_NUMBER = re.compile(r"\s*\(tidligere punkt (?P<number>\d{1,3})\)$", re.I)
CLOSED_TITLE = re.compile(r"^Lukket punkt:?\s*", re.I)
WITHDRAWN = re.compile(r"^Sag (?P<number>\d{1,3}) udgår\.?$", re.I)
ATTENDEE = re.compile(r"^(?P<name>\S.*?)\s+[–-]\s+(?P<status>\S.*)$")
EARLIER = re.compile(r"^(?P<body>\S.*?),? (?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4}),?"
                     r" [Pp]unkt (?P<item>\d{1,3})(?::\s*(?P<note>.*))?$")
RECOMMENDER = re.compile(r"^(?P<who>.+?) indstiller,? (?:over for \S.+? )?at:?$")
PROPOSAL = re.compile(r"^(?P<number>\d{1,2})\. (?P<text>\S.*)$")
ATTACHMENTS = re.compile(r"^Bilag:?\s*(?P<note>\d+ bilag.*)$")

PARTS = {"åben dagsorden": "open", "tillægsdagsorden": "supplementary",
         "lukket dagsorden": "closed"}
PRESENT_HEADINGS = ("deltagere", "til stede")
ABSENT_HEADINGS = ("afbud/fraværende", "afbud", "fraværende")
SECTIONS = {"beskrivelse": "summary", "resumé": "summary", "sagsfremstilling": "presentation",
            "økonomi": "economy", "indstilling": "proposals", "beslutning": "decision",
            "tidligere behandling": "earlier", "sagens forløb": "earlier", "bilag": "bilag",
            "beslutningskompetence": "deciding", "beslutningen træffes af": "deciding"}
IGNORED = ("referat", "dagsorden", "indholdsfortegnelse")


Line = tuple[int, str]  # (line number in the file, text); "" separates paragraphs


def read_referat(text: str) -> Referat:
    """A referat in either layout: the web page (HTML or its text) or the PDF text."""
    if text.lstrip()[:1] == "<":
        return parse_web_lines(html_lines(text))
    lines = [(number, raw.strip()) for number, raw in enumerate(text.splitlines(), start=1)]
    if any(WHEN.match(text) for text in [text for _, text in lines if text][:12]):
        return parse_web_lines(lines)
    return parse_referat(text)


# -- HTML to lines -----------------------------------------------------------------------------

BLOCKS = {"p", "div", "section", "article", "header", "footer", "main", "h1", "h2", "h3",
          "h4", "h5", "h6", "li", "ul", "ol", "tr", "table", "dl", "dt", "dd", "br", "hr",
          "blockquote"}
SKIPPED = {"script", "style", "nav", "head", "noscript", "footer"}


class _HtmlText(HTMLParser):
    """The page's text by its blocks, each line with the HTML line it starts on; the items
    of a numbered list get their number ("1. ..."), as a browser shows them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[Line] = []
        self.current: list[str] = []
        self.start_line = 0
        self.skipping = 0
        self.lists: list[list] = []  # per open ul/ol: [tag, items so far]

    def _end_line(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.lines.append((self.start_line, text))
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skipping += 1
        if tag in BLOCKS:
            self._end_line()
            if tag not in ("br", "li"):
                self.lines.append((self.getpos()[0], ""))
        if tag in ("ul", "ol"):
            self.lists.append([tag, 0])
        elif tag == "li" and self.lists:
            self.lists[-1][1] += 1
            if self.lists[-1][0] == "ol":
                self.current.append(f"{self.lists[-1][1]}. ")
                self.start_line = self.getpos()[0]

    def handle_endtag(self, tag):
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        if tag in BLOCKS:
            self._end_line()
            if tag not in ("li",):
                self.lines.append((self.getpos()[0], ""))
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()

    def handle_data(self, data):
        if self.skipping or not data.strip():
            if data and self.current:
                self.current.append(" ")
            return
        if not "".join(self.current).strip():
            self.start_line = self.getpos()[0] + data[:len(data) - len(data.lstrip())].count(
                "\n")
        self.current.append(data)


def html_lines(html: str) -> list[Line]:
    reader = _HtmlText()
    reader.feed(html)
    reader.close()
    reader._end_line()
    return reader.lines


# -- the page ----------------------------------------------------------------------------------

def parse_web_lines(lines: list[Line]) -> Referat:
    referat = Referat(items=[])
    paragraphs = _paragraphs(lines)
    rest = _read_header(referat, paragraphs)
    _read_items(referat, rest)
    return referat


def _paragraphs(lines: list[Line]) -> list[list[Line]]:
    found: list[list[Line]] = [[]]
    for number, text in lines:
        if text:
            found[-1].append((number, text))
        elif found[-1]:
            found.append([])
    return [p for p in found if p]


def _heading(text: str) -> str:
    return text.rstrip(":").strip().lower()


def _read_header(referat: Referat, paragraphs: list[list[Line]]) -> list[list[Line]]:
    """Body, date and time, place and attendance; returns the paragraphs of the items."""
    lines = [line for para in paragraphs for line in para]
    attending: bool | None = None
    for index, (number, text) in enumerate(lines):
        heading = _heading(text)
        if heading in PARTS or ITEM_HEADING.match(text) or WITHDRAWN.match(text):
            return _from_line(paragraphs, number, index, lines)
        when = WHEN.match(text)
        if heading in IGNORED:
            continue
        if when:
            _read_when(referat, number, when)
        elif heading in PRESENT_HEADINGS:
            attending = True
        elif heading in ABSENT_HEADINGS:
            attending = False
        elif attending is not None:
            _read_attendee(referat, number, text, attending)
        elif not referat.body_name:
            referat.body_name = text
        elif referat.day and not referat.place:
            referat.place = text
        else:
            referat.problems.append(f"Linje {number}: «{text[:80]}» blev ikke læst.")
    referat.problems.append("Ingen punkter fundet (linjer, der begynder med «N. Titel»).")
    return []


def _from_line(paragraphs, number, index, lines) -> list[list[Line]]:
    """The paragraphs from the given line on (which may start within a paragraph)."""
    wanted = lines[index]
    for position, para in enumerate(paragraphs):
        if wanted in para:
            cut = para.index(wanted)
            return [para[cut:], *paragraphs[position + 1:]]
    return []


def _read_when(referat: Referat, number: int, when: re.Match) -> None:
    try:
        referat.day = date(int(when["year"]), int(when["month"]), int(when["day"]))
        referat.starts = time(int(when["hour"]), int(when["minute"]))
    except ValueError:
        referat.problems.append(f"Linje {number}: mødets dato og tid «{when[0]}» findes ikke.")


def _read_attendee(referat: Referat, number: int, text: str, attending: bool) -> None:
    found = ATTENDEE.match(text)
    if not found:
        referat.problems.append(f"Linje {number}: deltageren «{text[:80]}» kunne ikke læses "
                                "(skriv «Navn – Deltog» eller «Navn – Afbud»).")
        return
    status = found["status"].strip()
    present = status.lower() == "deltog"
    if present != attending:
        referat.problems.append(f"Linje {number}: «{text[:80]}» står under "
                                f"{'Deltagere' if attending else 'Afbud/fraværende'}.")
    referat.attendance.append(Attendance(name=found["name"].strip(), present=present,
                                         note="" if present else status))


# -- the items ---------------------------------------------------------------------------------

@dataclass
class _Reading:
    """Where the reader is: the part of the agenda, the item and its section."""

    part: str = "open"
    item: Item | None = None
    section: str = ""
    last_first_line: str = ""  # the first line of the paragraph before: a list runs on


def _read_items(referat: Referat, paragraphs: list[list[Line]]) -> None:
    reading = _Reading()
    sections: dict[int, dict[str, list[list[Line]]]] = {}  # item number: section: paragraphs
    withdrawn: list[tuple[int, int]] = []  # (line, number as sent out)
    for para in paragraphs:
        for piece in _split_at_headings(para):
            number, text = piece[0]
            heading = _heading(text)
            if heading in PARTS:
                reading.part, reading.item, reading.section = PARTS[heading], None, ""
                continue
            if WITHDRAWN.match(text) and len(piece) == 1:
                withdrawn.append((number, int(WITHDRAWN.match(text)["number"])))
                continue
            if _starts_item(referat, reading, text):
                reading.item = _new_item(referat, reading, number, text)
                reading.section = ""
                sections[reading.item.number] = {}
                rest = piece[1:]
                if not rest:
                    reading.last_first_line = ""
                    continue
                piece = rest
                number, text = piece[0]
                heading = _heading(text)
            if reading.item is None:
                referat.problems.append(f"Linje {number}: «{text[:80]}» står uden for et "
                                        "punkt og blev ikke læst.")
                continue
            if heading == "lukket punkt":
                reading.item.closed = True
                piece = piece[1:]
            elif heading in SECTIONS or ATTACHMENTS.match(text):
                reading.section = SECTIONS.get(heading, "bilag")
                if ATTACHMENTS.match(text):
                    piece = [(number, ATTACHMENTS.match(text)["note"]), *piece[1:]]
                else:
                    piece = piece[1:]
            if piece:
                if not reading.section:
                    referat.problems.append(f"Linje {piece[0][0]}: tekst før punktets første "
                                            f"overskrift blev ikke læst: «{piece[0][1][:80]}»")
                else:
                    sections[reading.item.number].setdefault(reading.section, []).append(piece)
                reading.last_first_line = piece[0][1]
    for item in referat.items:
        _fill_item(referat, item, sections[item.number])
    _take_off(referat, withdrawn)
    expected = list(range(1, len(referat.items) + 1))
    if referat.items and [i.number for i in referat.items] != expected:
        referat.problems.append("Punkternes numre er ikke fortløbende: "
                                + ", ".join(f"{i.number} (linje {i.line})"
                                            for i in referat.items))


def _split_at_headings(para: list[Line]) -> list[list[Line]]:
    """A paragraph split before each heading line in it (a page's text often has a heading
    and its text in one block)."""
    pieces: list[list[Line]] = []
    for line in para:
        if not pieces or _heading(line[1]) in SECTIONS or _heading(line[1]) in PARTS or \
                _heading(line[1]) == "lukket punkt" or WITHDRAWN.match(line[1]):
            pieces.append([line])
        else:
            pieces[-1].append(line)
    return pieces


def _starts_item(referat: Referat, reading: _Reading, text: str) -> bool:
    """"N. Titel" with the next item's number starts an item, unless it runs on a numbered
    list ("1. ...", "2. ..." under Beskrivelse or Indstilling). On a page's text a list of
    N - 1 points that ends just before item N is read as the item; the HTML says which."""
    found = ITEM_HEADING.match(text)
    if not found:
        return False
    number = int(found["number"])
    runs_on = PROPOSAL.match(reading.last_first_line or "")
    if runs_on and int(runs_on["number"]) == number - 1 and reading.item is not None:
        return False
    # A number or two skipped is still an item (reported below); "12. januar ..." is text.
    return len(referat.items) < number <= len(referat.items) + 3


def _new_item(referat: Referat, reading: _Reading, line: int, text: str) -> Item:
    found = ITEM_HEADING.match(text)
    title = found["title"].strip()
    item = Item(number=int(found["number"]), title=title)
    former = FORMER_NUMBER.search(title)
    if former:
        item.former_number = int(former["number"])
        title = title[:former.start()].strip()
    if CLOSED_TITLE.match(title):
        item.closed = True
        title = CLOSED_TITLE.sub("", title) or title
    item.title = title
    item.line = line
    item.closed = item.closed or reading.part == "closed"
    # An item the tillæg pushed on to a new number was on the agenda as sent out.
    item.supplementary = reading.part == "supplementary" and item.former_number is None
    if title == "Meddelelser":
        item.standing = "meddelelser"
    elif title.startswith("Godkendelse af referat"):
        item.standing = "godkendelse_af_referat"
    referat.items.append(item)
    return item


def _fill_item(referat: Referat, item: Item, sections: dict[str, list[list[Line]]]) -> None:
    def text(name: str) -> str:
        return "\n\n".join("\n".join(t for _, t in para) for para in sections.get(name, []))

    if item.standing == "meddelelser":
        item.description = text("summary")
    else:
        item.summary = text("summary")
    item.presentation = text("presentation")
    item.economy = text("economy")
    item.attachments_note = text("bilag")
    item.deciding_body = " ".join(text("deciding").split())
    _read_proposals(referat, item, sections.get("proposals", []))
    _read_decision(item, sections.get("decision", []))
    _read_earlier(referat, item, sections.get("earlier", []))


def _read_proposals(referat: Referat, item: Item, paras: list[list[Line]]) -> None:
    lines = [line for para in paras for line in para]
    if not lines:
        return
    who = RECOMMENDER.match(lines[0][1])
    if not who:
        item.recommendation_text = "\n".join(t for _, t in lines)
        return
    item.recommender = who["who"]
    for number, text in lines[1:]:
        found = PROPOSAL.match(text)
        if found and int(found["number"]) == len(item.proposals) + 1:
            item.proposals.append(found["text"])
        elif item.proposals:  # the proposal runs on over its next line
            item.proposals[-1] += f" {text}"
        else:
            referat.problems.append(f"Linje {number}: indstillingens punkt 1 kunne ikke "
                                    f"læses: «{text[:80]}»")
            return


def _read_decision(item: Item, paras: list[list[Line]]) -> None:
    texts = [" ".join(t for _, t in para) for para in paras]
    item.decision_text = "\n\n".join(texts)


def _read_earlier(referat: Referat, item: Item, paras: list[list[Line]]) -> None:
    for number, text in (line for para in paras for line in para):
        found = EARLIER.match(text)
        try:
            day = found and date(int(found["year"]), int(found["month"]), int(found["day"]))
        except ValueError:
            day = None
        if not day:
            referat.problems.append(f"Linje {number}: den tidligere behandling «{text[:80]}» "
                                    "kunne ikke læses (skriv «Organ 07.11.2022, punkt 3»).")
            continue
        item.earlier.append(Treatment(body=found["body"].strip(), day=day,
                                      item=int(found["item"]),
                                      note=(found["note"] or "").strip()))


def _take_off(referat: Referat, withdrawn: list[tuple[int, int]]) -> None:
    """"Sag N udgår": the item numbered N on the agenda as sent out (a tillægsdagsorden may
    have given it another number since) is taken off: its decision is Udgår."""
    for line, number in withdrawn:
        found = [item for item in referat.items if item.sent_out_number == number]
        if not found:
            referat.problems.append(f"Linje {line}: «Sag {number} udgår», men dagsordenen har "
                                    f"intet punkt {number}.")
            continue
        item = found[0]
        if recognise_wording(item.decision_text) != "udgaar":  # its decision is Udgår
            item.decision_text = "\n\n".join(t for t in ("Udgår.", item.decision_text) if t)
        item.withdrawn = True
