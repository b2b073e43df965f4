"""Stored files for tests: made through the real service (dedup, COPY, type detection)."""

from __future__ import annotations

import itertools
from typing import Any

from files.models import StoredFile
from files.services import stored_file_create

_counter = itertools.count(1)


def stored_file(content: bytes | None = None, name: str | None = None, created_by: Any = None) -> StoredFile:
    n = next(_counter)
    if content is None:
        content = f"<?xml version='1.0'?><HDon><n>{n}</n></HDon>".encode()
    return stored_file_create(content=content, name=name or f"file-{n}.xml", created_by=created_by)
