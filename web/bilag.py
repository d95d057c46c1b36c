"""Bilag over HTTP, for the pages and the API alike: reading an uploaded file, and the answer
that serves one (who may read it is meetings.bilag's rule, asked by the routes)."""

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from cases import files
from cases.models import Attachment
from cases.settings import get_settings
from workflow.errors import InvalidInput

UPLOAD_PATHS = ("/bilag", "/attachments")  # the upload routes end so (web.app's body limit)
# A form's text fields around the file: title, flags, CSRF token.
FORM_SLACK_BYTES = 64 * 1024


def upload_limit_bytes() -> int:
    return get_settings().max_attachment_mb * 1024 * 1024 + FORM_SLACK_BYTES


async def uploaded_file(request: Request, field: str = "file") -> tuple[str, bytes]:
    """The posted file's name and bytes; refused in Danish if none was sent or it is too
    large (only one byte past the limit is read)."""
    upload = (await request.form()).get(field)
    if not isinstance(upload, UploadFile):
        raise InvalidInput("Vælg en fil at vedhæfte.")
    limit = get_settings().max_attachment_mb * 1024 * 1024
    content = await upload.read(limit + 1)
    files.check_size(len(content))
    return upload.filename or "", content


def content_disposition(attachment: Attachment) -> str:
    """RFC 6266: an ASCII `filename` for old clients (anything else, quotes and backslashes
    as "_") and the real name as UTF-8 in `filename*`. The stored name has no line breaks
    or path parts (cases.files.safe_filename); this holds whatever it is given."""
    name = attachment.filename or "bilag"
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    kind = files.KINDS.get(attachment.media_type)
    disposition = "inline" if kind and kind.inline else "attachment"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(attachment: Attachment, content: bytes) -> Response:
    kind = files.KINDS.get(attachment.media_type)
    media_type = kind.media_type if kind else "application/octet-stream"
    # `X-Content-Type-Options: nosniff` is on every answer (web.app), these included. A
    # cache asks again each time: the rule is decided when served, and a case can become
    # closed (to someone signed in, web.app makes it no-store).
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": content_disposition(attachment), "Cache-Control": "no-cache"})
