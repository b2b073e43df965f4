"""The download response, shared by the API and the admin: streamed in chunks, with
`ETag` (the SHA-256), `If-None-Match` (304), single `Range: bytes=` requests (206, 416) and
`If-Range`, `Content-Length`, and `Content-Disposition` (PDFs and images inline for preview,
everything else as an attachment; non-ASCII names as RFC 6266/5987 `filename*`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.http import content_disposition_header

from files.models import StoredFile
from files.services import stored_file_iter_chunks

_RANGE_RE = re.compile(r"^bytes=\s*(\d*)\s*-\s*(\d*)\s*$")


class RangeNotSatisfiable(Exception):
    pass


def etag_for(file: StoredFile) -> str:
    return f'"{file.sha256}"'


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    # Weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single satisfiable byte range; None to serve the whole
    file (no/unsupported/multi-range header); RangeNotSatisfiable when outside the file."""
    match = _RANGE_RE.match(header or "")
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable
        return max(size - length, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # syntactically invalid: ignore the header (RFC 9110 §14.2)
    if start >= size:
        raise RangeNotSatisfiable
    end = int(last) if last else size - 1
    return start, min(end, size - 1)


def _common_headers(response: HttpResponseBase, file: StoredFile) -> None:
    response["ETag"] = etag_for(file)
    response["Accept-Ranges"] = "bytes"
    # Authorised content: never in shared caches; browsers revalidate with the ETag.
    response["Cache-Control"] = "private, no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    if not file.is_pdf:
        # Attachments never render in our origin (an XML file could carry script).
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"


def _empty() -> Iterator[bytes]:
    return iter(())


def stored_file_response(request: HttpRequest, file: StoredFile) -> HttpResponseBase:
    etag = etag_for(file)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and _etag_matches(if_none_match, etag):
        response: HttpResponseBase = HttpResponse(status=304)
        _common_headers(response, file)
        return response

    byte_range = None
    range_header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if range_header and (not if_range or if_range.strip() == etag):
        try:
            byte_range = parse_range(range_header, file.size)
        except RangeNotSatisfiable:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{file.size}"
            _common_headers(response, file)
            return response

    start, end = byte_range if byte_range else (0, file.size - 1)
    body = _empty() if request.method == "HEAD" else stored_file_iter_chunks(file=file, start=start, end=end)
    response = StreamingHttpResponse(body, status=206 if byte_range else 200, content_type=file.content_type)
    response["Content-Length"] = str(end - start + 1)
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{file.size}"
    # PDFs and images open in the browser (previews on the request page); everything else downloads.
    inline = file.is_pdf or file.is_image
    response["Content-Disposition"] = content_disposition_header(not inline, file.original_name)
    _common_headers(response, file)
    return response
