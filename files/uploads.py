"""Upload handling for the file endpoints: size limit and completeness.

Django's multipart parser accepts a body that stops mid-file (client gone, proxy cut) as if
the file had ended there, and keeps reading a body of any size. `CompleteUploadHandler`
wraps that parser for our endpoints:

- a declared `Content-Length` above `FILE_MAX_SIZE` (plus form overhead) is refused with 413
  before a byte of the body is read;
- file data beyond `FILE_MAX_SIZE` stops the upload with 413 (nothing stored);
- the body must arrive complete: all `Content-Length` bytes, ending with the closing
  multipart delimiter, or the upload is refused (`UPLOAD_INCOMPLETE`), leaving no row.

Large files are spooled to temporary files by Django's own handlers (above
`FILE_UPLOAD_MAX_MEMORY_SIZE`), so memory does not grow with the upload.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, load_handler
from django.http.multipartparser import MultiPartParser
from django.utils.translation import gettext as _

from acountee.errors import TooLarge, ValidationFailed
from files.services import too_large_error

# Room for the multipart headers and form fields around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


def _too_large() -> TooLarge:
    return too_large_error()


def _incomplete() -> ValidationFailed:
    return ValidationFailed(
        _("The upload was cut off before the end. Nothing was stored; please upload the file again."),
        code="UPLOAD_INCOMPLETE",
    )


class _TailRecordingStream:
    """Counts the bytes read and keeps the last few, to check the closing delimiter."""

    def __init__(self, stream: Any, keep: int):
        self._stream = stream
        self._keep = keep
        self.total = 0
        self.tail = b""
        self.failed = False

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._stream.read(size)
        except OSError:
            # The client went away mid-body (gunicorn raises, wsgiref returns short reads).
            self.failed = True
            data = b""
        self.total += len(data)
        if data:
            self.tail = (self.tail + data[-self._keep :])[-self._keep :]
        return data


class _SizeLimitHandler(FileUploadHandler):
    """First in the chain: counts file bytes and stops the upload past FILE_MAX_SIZE."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.FILE_MAX_SIZE:
            raise _too_large()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class CompleteUploadHandler(FileUploadHandler):
    """Takes over multipart parsing (`handle_raw_input`) to enforce the limit and check that
    the body is complete; the actual parsing is Django's."""

    def handle_raw_input(
        self, input_data: Any, META: dict[str, Any], content_length: int, boundary: bytes, encoding: str | None = None
    ) -> tuple[Any, Any]:
        if content_length > settings.FILE_MAX_SIZE + MULTIPART_OVERHEAD:
            raise _too_large()
        closing = b"--" + boundary + b"--"
        stream = _TailRecordingStream(input_data, keep=len(closing) + 64)
        handlers = [_SizeLimitHandler(self.request)] + [
            load_handler(path, self.request) for path in settings.FILE_UPLOAD_HANDLERS
        ]
        parser = MultiPartParser(META, stream, handlers, encoding)
        post, files = parser.parse()
        if stream.failed or stream.total < content_length or closing not in stream.tail:
            for _name, uploaded in files.lists():
                for file in uploaded:
                    file.close()
            raise _incomplete()
        return post, files

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:  # pragma: no cover - never reached
        return raw_data

    def file_complete(self, file_size: int) -> None:  # pragma: no cover - never reached
        return None


def install_upload_handlers(request: Any) -> None:
    """Call before anything reads the body (i.e. before authentication: a session's CSRF check
    reads request.POST)."""
    request.upload_handlers = [CompleteUploadHandler(request)]
