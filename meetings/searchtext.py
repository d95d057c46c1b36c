"""Danish search text, without a database: words, stems, the query people type, snippets.

The same Danish Snowball stemmer that PostgreSQL's `danish` configuration uses
(snowballstemmer) is applied to the indexed text and to the query on SQLite, so "udsatte"
finds "udsat" there as it does in PostgreSQL. The query language is PostgreSQL's
`websearch_to_tsquery`: words (all must occur), "a phrase", `-word` (must not occur) and `OR`.

Snippets are HTML made safe here: every piece of the text is escaped, and the only tags are
the `<mark>` around the words that matched.
"""

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from markupsafe import Markup

_WORD = re.compile(r"[^\W_]+")  # letters and digits (æ, ø, å included); "§ 79 b" gives 79, b
_STEMMER = snowballstemmer.stemmer("danish")


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word.lower())


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def stemmed(text: str) -> str:
    """The text as the SQLite index holds it: its words' stems, separated by spaces."""
    return " ".join(stem(word) for word in words(text))


@dataclass
class Query:
    """A parsed query: every group must match (a group is phrases joined by OR), and no
    excluded phrase may. A phrase is a tuple of stems."""

    groups: list[list[tuple[str, ...]]] = field(default_factory=list)
    excluded: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def stems(self) -> set[str]:
        """The stems to highlight: those the text must or may contain."""
        return {s for group in self.groups for phrase in group for s in phrase}

    def __bool__(self) -> bool:
        return bool(self.groups)


_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def parse(text: str) -> Query:
    """Reads a query as websearch_to_tsquery does (loosely: anything unknown is a word)."""
    query = Query()
    joining = False  # the previous token was OR
    for match in _TOKEN.finditer(text):
        minus, quoted, bare = match.groups()
        if bare is not None and bare == "OR":
            joining = bool(query.groups)
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            minus, bare = "-", bare[1:]
        phrase = tuple(stem(word) for word in words(quoted if bare is None else bare))
        if not phrase:
            continue
        if minus:
            query.excluded.append(phrase)
        elif joining:
            query.groups[-1].append(phrase)
        else:
            query.groups.append([phrase])
        joining = False
    return query


def _fts5_phrase(phrase: tuple[str, ...]) -> str:
    # Stems are letters and digits only (see _WORD), so quoting them needs no escaping.
    return '"' + " ".join(phrase) + '"'


def fts5_match(query: Query, column: str | None = None) -> str:
    """The FTS5 MATCH expression for the query (over the stemmed columns); `column` limits
    it to one column ("title": is it a title hit?)."""
    groups = ["(" + " OR ".join(_fts5_phrase(p) for p in group) + ")" for group in query.groups]
    expression = " AND ".join(groups)
    for phrase in query.excluded:
        expression = f"({expression}) NOT {_fts5_phrase(phrase)}"
    return f"{column} : ({expression})" if column else expression


def highlight(text: str, stems: set[str]) -> Markup:
    """The whole text, escaped, with the matching words marked."""
    return _marked(text, stems, 0, len(text))


def snippet(text: str, stems: set[str], size: int = 30) -> Markup:
    """About `size` words of the text around its first matching word (or its start),
    escaped, with the matching words marked; "…" where text was cut."""
    spans = [m.span() for m in _WORD.finditer(text)]
    if not spans:
        return Markup("")
    hits = [i for i, (start, end) in enumerate(spans) if stem(text[start:end]) in stems]
    first = max(0, (hits[0] if hits else 0) - size // 3)
    last = min(len(spans), first + size) - 1
    start, end = spans[first][0], spans[last][1]
    before = "… " if first > 0 else ""
    after = " …" if last < len(spans) - 1 else ""
    return Markup(before) + _marked(text, stems, start, end) + Markup(after)


def _marked(text: str, stems: set[str], start: int, end: int) -> Markup:
    out, at = [], start
    for match in _WORD.finditer(text, start, end):
        if stem(match.group()) in stems:
            out.append(html.escape(text[at:match.start()]))
            out.append(f"<mark>{html.escape(match.group())}</mark>")
            at = match.end()
    out.append(html.escape(text[at:end]))
    return Markup("".join(out))


# PostgreSQL's ts_headline marks matches with these (characters no text of ours holds: the
# input rules refuse control characters), so that its output can be escaped before the
# marks become tags.
MARK_START, MARK_STOP = "\x02", "\x03"


def headline_html(headline: str) -> Markup:
    """ts_headline's output (with MARK_START/MARK_STOP) as safe HTML."""
    escaped = html.escape(headline.replace("\x00", ""))
    return Markup(escaped.replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))


def plain(marked: Markup, start: str = "", stop: str = "") -> str:
    """A highlighted text as plain text again, the marks written as `start`/`stop`."""
    return html.unescape(str(marked).replace("<mark>", start).replace("</mark>", stop))


@dataclass
class Stemmed:
    """A text's stems in order, and where each stem occurs: for matching many queries
    against one text (a follow mail's items and every search phrase followed)."""

    stems: list[str]
    at: dict[str, list[int]]

    @classmethod
    def of(cls, text: str) -> "Stemmed":
        stems, at = [stem(word) for word in words(text)], {}
        for index, found in enumerate(stems):
            at.setdefault(found, []).append(index)
        return cls(stems, at)

    def holds(self, phrase: tuple[str, ...]) -> bool:
        """Are the phrase's stems in the text, in a row?"""
        size = len(phrase)
        return any(tuple(self.stems[i:i + size]) == phrase for i in self.at.get(phrase[0], ()))


def matches(query: Query, text: "str | Stemmed") -> bool:
    """Does the text match the query as the index would: every group has a phrase in it,
    and no excluded phrase is? For a text in hand (a follow mail's items), without the
    index."""
    found = Stemmed.of(text) if isinstance(text, str) else text
    return bool(query) and all(any(found.holds(p) for p in group) for group in query.groups) \
        and not any(found.holds(phrase) for phrase in query.excluded)
