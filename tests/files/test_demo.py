from __future__ import annotations

import pytest

from files.demo import demo_files, seed_files
from files.detection import detect_content_type
from files.models import FileType, StoredFile

pytestmark = pytest.mark.django_db


def test_demo_files_are_stored_once():
    lines: list[str] = []
    seed_files(lines.append)
    seed_files(lines.append)
    assert StoredFile.objects.count() == 3 == len(lines)
    assert set(StoredFile.objects.values_list("content_type", flat=True)) == {FileType.PDF, FileType.XML, FileType.ZIP}


def test_demo_pdf_is_well_formed():
    import io
    import re

    pdf = demo_files()[0][1]
    assert detect_content_type(io.BytesIO(pdf)) == FileType.PDF
    xref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", pdf).group(1))
    assert pdf[xref:].startswith(b"xref\n")
    for number, offset in enumerate(re.findall(rb"(\d{10}) 00000 n", pdf), start=1):
        assert pdf[int(offset) :].startswith(f"{number} 0 obj".encode())
