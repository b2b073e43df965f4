"""File type from the bytes, never from the client's name or Content-Type header.

XML (with or without a UTF-8/UTF-16 BOM and leading whitespace), PDF, ZIP, XLSX (a ZIP holding
`[Content_Types].xml` and `xl/`), XLS (OLE2 compound document), PNG, JPEG and WebP images (by their
signatures: photos of receipts and transfer slips); anything else is `application/octet-stream`.
"""

from __future__ import annotations

import zipfile
from typing import IO

from files.models import FileType

HEAD_SIZE = 8192

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # local file header; empty archive
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_XML_WHITESPACE = b" \t\r\n"
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


def _looks_like_xml(head: bytes) -> bool:
    text = head
    for bom in _BOMS:
        if text.startswith(bom):
            text = text[len(bom) :]
            if bom != _BOMS[0]:
                # UTF-16: drop the zero bytes of the ASCII range before looking.
                text = text.replace(b"\x00", b"")
            break
    text = text.lstrip(_XML_WHITESPACE)
    if text.startswith(b"<?xml"):
        return True
    # A document without a declaration: an element start such as `<HDon>`.
    if text.startswith(b"<") and len(text) > 1:
        second = text[1:2]
        return second.isalpha() or second in (b"_", b"!") or second >= b"\x80"
    return False


def detect_content_type(stream: IO[bytes]) -> str:
    """Detects the type of a seekable binary stream; leaves the position at 0."""
    stream.seek(0)
    head = stream.read(HEAD_SIZE)
    try:
        if head.startswith(b"%PDF-"):
            return FileType.PDF
        if head.startswith(_OLE2):
            return FileType.XLS
        if head.startswith(_PNG):
            return FileType.PNG
        if head.startswith(_JPEG):
            return FileType.JPEG
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return FileType.WEBP
        if head.startswith(_ZIP_MAGICS):
            return FileType.XLSX if _is_xlsx(stream) else FileType.ZIP
        if _looks_like_xml(head):
            return FileType.XML
        return FileType.OTHER
    finally:
        stream.seek(0)


def _is_xlsx(stream: IO[bytes]) -> bool:
    # zipfile reads only the central directory at the end of the stream, not the members.
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
    return "[Content_Types].xml" in names and any(name.startswith("xl/") for name in names)
