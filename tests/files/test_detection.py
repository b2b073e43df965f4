from __future__ import annotations

import io
import zipfile

import pytest

from files.detection import detect_content_type
from files.models import FileType


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<?xml version='1.0'?><HDon/>", FileType.XML),
        (b"\xef\xbb\xbf<?xml version='1.0'?><HDon/>", FileType.XML),
        (b"\r\n  \t<?xml version='1.0'?><HDon/>", FileType.XML),
        (b"<HDon><DLHDon/></HDon>", FileType.XML),
        ("\ufeff<?xml version='1.0' encoding='UTF-16'?><a/>".encode("utf-16-le"), FileType.XML),
        ("<?xml version='1.0' encoding='UTF-16'?><a/>".encode("utf-16"), FileType.XML),
        (b"%PDF-1.7\n...", FileType.PDF),
        (_zip(["a.xml", "b.xml"]), FileType.ZIP),
        (_zip(["[Content_Types].xml", "xl/workbook.xml", "_rels/.rels"]), FileType.XLSX),
        (_zip(["[Content_Types].xml", "word/document.xml"]), FileType.ZIP),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, FileType.XLS),
        (b"PK\x03\x04 not really a zip", FileType.ZIP),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", FileType.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", FileType.JPEG),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", FileType.WEBP),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", FileType.OTHER),
        (b"\x89PNG not quite", FileType.OTHER),
        (b"plain text, not xml", FileType.OTHER),
        (b"< not xml", FileType.OTHER),
        (b"\x00\x01\x02", FileType.OTHER),
        (b"x", FileType.OTHER),
    ],
)
def test_type_from_the_bytes(data, expected):
    stream = io.BytesIO(data)
    assert detect_content_type(stream) == expected
    assert stream.tell() == 0
