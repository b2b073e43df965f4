"""`DatabaseStorage`: the project's default Django storage, so every `FileField` stores into
the `files` table (deduplicated, streamed in chunks) without knowing it.

A stored name is `<file id>/<original name>`: the id finds the row, the name part is what the
user sees. `upload_to` directories are not kept (the table has no directories); the same name
and bytes under another FileField get the same row. `FILE_STORAGE=s3` swaps this class for
django-storages' `S3Storage` by configuration alone (see settings).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import Storage
from django.urls import reverse
from django.utils.deconstruct import deconstructible

from acountee.errors import AcounteeError
from files import services
from files.models import StoredFile

_NAME_RE = re.compile(r"^([0-9]{1,18})/")
_ID_PREFIX_ROOM = 20  # up to 18 digits, the slash, one spare


@deconstructible(path="files.storage.DatabaseStorage")
class DatabaseStorage(Storage):
    def _file(self, name: str) -> StoredFile:
        match = _NAME_RE.match(name or "")
        file = StoredFile.objects.filter(pk=int(match.group(1))).first() if match else None
        if file is None:
            raise FileNotFoundError(f"No stored file {name!r}")
        return file

    def get_valid_name(self, name: str) -> str:
        # Keep the user's name as typed (spaces, Vietnamese): it is data here, not a path.
        return services.clean_file_name(name)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        # Names never collide (the row id makes them unique); only keep them short enough for
        # the FileField's column once the id is prepended.
        base = services.clean_file_name(name)
        if max_length is not None:
            room = max(max_length - _ID_PREFIX_ROOM, 1)
            if len(base) > room:
                stem, dot, ext = base.rpartition(".")
                base = (stem[: room - len(ext) - 1] + "." + ext) if dot and len(ext) < room - 1 else base[:room]
        return base

    def _save(self, name: str, content: IO[bytes]) -> str:
        if hasattr(content, "seek"):
            content.seek(0)
        try:
            file = services.stored_file_create(content=content, name=name, created_by=None)
        except AcounteeError as exc:
            # Storage callers (FileField, forms) expect OSError-like failures; keep the message.
            raise ValueError(str(exc.message)) from exc
        return f"{file.pk}/{services.clean_file_name(name)}"

    def _open(self, name: str, mode: str = "rb") -> File:
        if any(flag in mode for flag in "wa+"):
            raise ValueError("Stored files are read-only")
        file = self._file(name)
        return File(services.stored_file_open(file), name=name)

    def exists(self, name: str) -> bool:
        try:
            self._file(name)
        except FileNotFoundError:
            return False
        return True

    def delete(self, name: str) -> None:
        """Does nothing: content is deduplicated (another record may hold the same row) and
        accounting documents are kept. `files.services.stored_file_delete` deletes a row
        nothing references."""

    def size(self, name: str) -> int:
        return self._file(name).size

    def url(self, name: str) -> str:
        return reverse("files-content", kwargs={"pk": self._file_id(name)})

    def _file_id(self, name: str) -> int:
        match = _NAME_RE.match(name or "")
        if not match:
            raise FileNotFoundError(f"No stored file {name!r}")
        return int(match.group(1))

    def get_created_time(self, name: str) -> datetime:
        return self._file(name).created_at

    def get_modified_time(self, name: str) -> datetime:
        return self._file(name).created_at

    def get_accessed_time(self, name: str) -> datetime:
        return self._file(name).created_at

    def listdir(self, path: str) -> Any:
        raise NotImplementedError("The database storage has no directories")
