"""Bilag as files: what a file is (found from its content), where it is kept, its text.

One small storage interface, `store(session, content) -> digest` and `open(session, digest)
-> bytes`: files are kept by their sha256 (the same file uploaded twice is kept once) and
checked against it on every read, so a file damaged on disk or in the database is never
served as if it were the Bilag. Two stores, chosen by SAGSGANG_ATTACHMENT_STORE:

- "folder" (default): files in a folder (SAGSGANG_ATTACHMENT_DIR, `bilag/` in the var dir),
  written to a temporary name and renamed, so a reader never sees half a file. Several web
  servers need that folder on a shared disk.
- "database": the `attachment_blob` table, written in the upload's own transaction (a
  refused or failed upload leaves nothing behind); what several web servers share anyway.

Who may read a Bilag is not decided here: `meetings.bilag.may_read_attachment`.
"""

import hashlib
import io
import logging
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from cases import queries, services
from cases.models import Attachment, Blob, Case, utcnow
from cases.schemas import checked_text
from cases.settings import get_settings
from workflow.errors import InvalidInput, NotFound

log = logging.getLogger("sagsgang.files")


class DamagedFile(Exception):
    """A stored file is missing or does not match its checksum: never served, logged."""


# -- the kinds of file taken -------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    media_type: str
    suffixes: tuple[str, ...]  # the first is added to a name without one of them
    inline: bool  # a browser shows it itself (PDF, images) rather than saving it


PDF = Kind("application/pdf", (".pdf",), True)
DOCX = Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            (".docx",), False)
XLSX = Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            (".xlsx",), False)
ODT = Kind("application/vnd.oasis.opendocument.text", (".odt",), False)
PNG = Kind("image/png", (".png",), True)
JPEG = Kind("image/jpeg", (".jpg", ".jpeg"), True)
GIF = Kind("image/gif", (".gif",), True)
KINDS = {kind.media_type: kind for kind in (PDF, DOCX, XLSX, ODT, PNG, JPEG, GIF)}
REFUSED_KIND = ("Filen kan ikke bruges som bilag. Der kan vedhæftes PDF, Word (DOCX), "
                "Excel (XLSX), OpenDocument-tekst (ODT) og billeder (PNG, JPEG, GIF).")
# An office file is a zip; unpacked, it may not grow past this (a "zip bomb" is refused).
MAX_UNPACKED_BYTES = 500 * 1024 * 1024


def kind_of(content: bytes) -> Kind | None:
    """The kind of file by its content (its first bytes, or a zip's members), never by its
    name or the Content-Type it was sent with: both are whatever the sender says."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if content.startswith(b"PK\x03\x04"):
        return _office_kind(content)
    return None


def _office_kind(content: bytes) -> Kind | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
            if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
                return None
            names = {info.filename for info in infos}
            if "mimetype" in names:  # OpenDocument: the first member names the type
                return ODT if archive.read("mimetype").strip() == ODT.media_type.encode() \
                    else None
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return DOCX
                if "xl/workbook.xml" in names:
                    return XLSX
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        return None
    return None


# -- file names --------------------------------------------------------------------------------

def safe_filename(name: str, kind: Kind) -> str:
    """The name a file is kept and served under: its last path part, without control
    characters (line breaks) and at most 200 characters, ending in its real kind's suffix (a
    PDF sent as "x.html" is served as "x.html.pdf")."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    if not name:
        name = "bilag"
    if not name.lower().endswith(kind.suffixes):
        name += kind.suffixes[0]
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        name = stem[:200 - len(suffix) - 1] + dot + suffix
    return name


# -- the stores --------------------------------------------------------------------------------

class FolderStore:
    """Files in a folder, two levels deep by digest (ab/abcdef…)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, session: Session, digest: str, content: bytes) -> None:
        target = self.path(digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, session: Session, digest: str) -> bytes | None:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            return None


class DatabaseStore:
    """Files in the attachment_blob table, in the caller's transaction."""

    def put(self, session: Session, digest: str, content: bytes) -> None:
        # Two uploads of the same file at once: the second finds the row there, no error.
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(Blob).values(digest=digest, content=content)
                        .on_conflict_do_nothing(index_elements=["digest"]))

    def get(self, session: Session, digest: str) -> bytes | None:
        blob = session.get(Blob, digest)
        return None if blob is None else bytes(blob.content)


def current_store() -> FolderStore | DatabaseStore:
    settings = get_settings()
    if settings.attachment_store == "database":
        return DatabaseStore()
    return FolderStore(settings.attachment_dir)


def digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def store(session: Session, content: bytes, where=None) -> str:
    """Keep the file; its digest (sha256, hex) names it."""
    digest = digest_of(content)
    (where or current_store()).put(session, digest, content)
    return digest


def open(session: Session, digest: str, where=None) -> bytes:  # noqa: A001 (read as files.open)
    """The file's bytes, checked against its digest; DamagedFile if missing or changed."""
    content = (where or current_store()).get(session, digest)
    if content is None:
        raise DamagedFile(f"file {digest} is missing")
    if digest_of(content) != digest:
        raise DamagedFile(f"file {digest} does not match its checksum")
    return content


# -- text for search ---------------------------------------------------------------------------

MAX_TEXT_CHARS = 2_000_000  # a Bilag's text kept for search (a 1,000-page report is ~2 M)


def extract_text(content: bytes, kind: Kind) -> str:
    """The text of a PDF or DOCX ("" for other kinds, and for a file whose text cannot be
    read: it is still a Bilag, only not found by its words)."""
    try:
        if kind is PDF:
            from pypdf import PdfReader

            reader = PdfReader(io.BytesIO(content))
            text = "\n".join(page.extract_text() or "" for page in reader.pages)
        elif kind is DOCX:
            import docx

            document = docx.Document(io.BytesIO(content))
            text = "\n".join(paragraph.text for paragraph in document.paragraphs)
        else:
            return ""
    except Exception:  # a damaged or encrypted file: any of the readers' many errors
        log.warning("no text could be read from a %s", kind.media_type, exc_info=True)
        return ""
    # NUL cannot be stored in PostgreSQL text; other control characters are noise to search.
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    return text[:MAX_TEXT_CHARS]


def extracted_text(attachment: Attachment) -> str:
    """The Bilag's text, as extracted when it was uploaded (for search)."""
    return attachment.text or ""


# -- attaching a file to a case ----------------------------------------------------------------

def check_size(size: int) -> None:
    limit = get_settings().max_attachment_mb
    if size > limit * 1024 * 1024:
        raise InvalidInput(f"Filen er for stor ({size / (1024 * 1024):.1f} MB). Et bilag må "
                           f"højst fylde {limit} MB.")


def attach(session: Session, number: str, *, filename: str, content: bytes, title: str,
           recommended: bool = False, public: bool = True, actor: str,
           where=None) -> Attachment:
    """Add a file as the case's next Bilag. Everything is checked before anything is kept:
    a refused file leaves no row and no file. The caller has checked that `actor` may
    change the case (web.ownership.case_to_change) and commits."""
    case = queries.get_case(session, number)
    services.check_editable(case)
    title = checked_text(title, "Bilagets titel", max_length=300)
    if not title:
        raise InvalidInput("Skriv bilagets titel.")
    if not content:
        raise InvalidInput("Filen er tom.")
    check_size(len(content))
    kind = kind_of(content)
    if kind is None:
        raise InvalidInput(REFUSED_KIND)
    text = extract_text(content, kind)
    digest = digest_of(content)
    numbers = [a.number for a in queries.attachments(session, case.id)]
    attachment = Attachment(case_id=case.id, number=max(numbers, default=0) + 1, title=title,
                            recommended=recommended, public=public, digest=digest,
                            filename=safe_filename(filename, kind),
                            media_type=kind.media_type, size=len(content), text=text)
    session.add(attachment)
    session.flush()
    services.append_event(session, case, actor=actor, trigger="edit_case",
                          from_state=case.status, to_state=case.status, now=utcnow(),
                          # The timeline and follow mails show the reason to all who may
                          # read the case: a not-public Bilag's title is not in it.
                          reason=f"Bilag tilføjet: {title}" if public
                          else "Bilag tilføjet (ikke offentligt)",
                          payload={"fields": ["attachments"], "values": {},
                                   "attachment_id": attachment.id})
    # The file last: in the folder store it is the one thing the transaction cannot undo.
    (where or current_store()).put(session, digest, content)
    return attachment


def _attached_file(session: Session, case: Case, attachment_id: int) -> Attachment:
    """The case's Bilag with a file; NotFound for one of another case, or a title only."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.case_id != case.id or not attachment.digest:
        raise NotFound(f"Sagen {case.number} har ikke det bilag.")
    return attachment


# What an edit of a Bilag may change, in the order the timeline names it.
EDITED = ("title", "recommended", "public")


def edit(session: Session, number: str, attachment_id: int, *, title: str | None = None,
         recommended: bool | None = None, public: bool | None = None,
         actor: str) -> tuple[Attachment, list[str]]:
    """Change a Bilag's title, whether it is recommended and whether it is public (None:
    unchanged); returns it and what changed (nothing changed: nothing written). The caller
    has checked that `actor` may change the case and commits. Who may read it follows at
    once: meetings.bilag decides when it is served. A Bilag that is a title only is edited
    with the case's text (services.update_case), which writes those rows anew."""
    case = queries.get_case(session, number)
    services.check_editable(case)
    attachment = _attached_file(session, case, attachment_id)
    wanted = {"recommended": recommended, "public": public}
    if title is not None:
        wanted["title"] = checked_text(title, "Bilagets titel", max_length=300)
        if not wanted["title"]:
            raise InvalidInput("Skriv bilagets titel.")
    changed = [name for name in EDITED
               if wanted.get(name) is not None and wanted[name] != getattr(attachment, name)]
    if not changed:
        return attachment, []
    for name in changed:
        setattr(attachment, name, wanted[name])
    session.add(attachment)
    session.flush()
    services.append_event(session, case, actor=actor, trigger="edit_case",
                          from_state=case.status, to_state=case.status, now=utcnow(),
                          reason=edit_reason(attachment, changed),
                          payload={"fields": ["attachments"], "values": {},
                                   "attachment_id": attachment.id, "changed": changed})
    return attachment, changed


def edit_reason(attachment: Attachment, changed: list[str]) -> str:
    """The timeline's words for an edit. As for attach: all who may read the case and its
    followers read them, so a Bilag that is not public now is not named."""
    if not attachment.public:
        return "Bilag ikke længere offentligt" if "public" in changed \
            else "Bilag ændret (ikke offentligt)"
    labels = {"title": "ny titel", "public": "gjort offentligt",
              "recommended": "anbefales" if attachment.recommended else "anbefales ikke"}
    return f"Bilag ændret ({', '.join(labels[name] for name in changed)}): {attachment.title}"


def remove(session: Session, number: str, attachment_id: int, *, actor: str) -> Attachment:
    """Take a Bilag with a file off the case (the caller has checked that `actor` may change
    it). Its file stays in the store: an agenda published with it keeps it, and another
    Bilag may be the same file."""
    case = queries.get_case(session, number)
    services.check_editable(case)
    attachment = _attached_file(session, case, attachment_id)
    session.delete(attachment)
    session.flush()
    services.append_event(session, case, actor=actor, trigger="edit_case",
                          from_state=case.status, to_state=case.status, now=utcnow(),
                          reason=f"Bilag fjernet: {attachment.title}" if attachment.public
                          else "Bilag fjernet (ikke offentligt)",
                          payload={"fields": ["attachments"], "values": {},
                                   "attachment_id": attachment_id})
    return attachment
