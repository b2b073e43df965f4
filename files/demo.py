"""Demo files: a PDF (opens inline in the browser), an e-invoice XML and a ZIP holding it,
uploaded by the demo accountant. Idempotent: the store deduplicates identical bytes."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

DEMO_UPLOADER = "ketoan@acountee.local"

DEMO_XML = """<?xml version="1.0" encoding="UTF-8"?>
<HDon>
  <DLHDon>
    <TTChung>
      <PBan>2.0.1</PBan>
      <THDon>Hóa đơn giá trị gia tăng</THDon>
      <KHMSHDon>1</KHMSHDon>
      <KHHDon>C26TDM</KHHDon>
      <SHDon>1024</SHDon>
      <NLap>2026-11-02</NLap>
      <DVTTe>VND</DVTTe>
    </TTChung>
    <NDHDon>
      <NBan><Ten>Công ty TNHH Dịch vụ Demo</Ten><MST>0101234567</MST></NBan>
      <NMua><Ten>Công ty Cổ phần Acountee</Ten><MST>0309876543</MST></NMua>
      <TToan><TgTTTBSo>11000000</TgTTTBSo></TToan>
    </NDHDon>
  </DLHDon>
</HDon>
""".encode()


def demo_pdf(lines: list[str]) -> bytes:
    """A small valid one-page PDF (standard Helvetica: ASCII text only)."""
    text = (
        "BT /F1 14 Tf 72 760 Td 18 TL "
        + " ".join("(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines)
        + " ET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(text)).encode() + b" >>\nstream\n" + text.encode("latin-1") + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 2, 9, 0, 0))  # fixed: same bytes every run
            archive.writestr(info, data)
    return buffer.getvalue()


def demo_files() -> list[tuple[str, bytes]]:
    return [
        (
            "Biên bản nghiệm thu tháng 11.pdf",
            demo_pdf(
                [
                    "Acountee demo - Bien ban nghiem thu",
                    "Hop dong dich vu 2026/11, gia tri 11.000.000 VND",
                    "Stored in PostgreSQL bytea, streamed with HTTP ranges.",
                ]
            ),
        ),
        ("Hóa đơn C26TDM-1024.xml", DEMO_XML),
        ("Hóa đơn tháng 11.zip", _zip({"C26TDM-1024.xml": DEMO_XML})),
    ]


def seed_files(log: Callable[[str], Any]) -> None:
    from accounts.models import User
    from files.services import stored_file_store

    uploader = User.objects.filter(email__iexact=DEMO_UPLOADER).first()
    for name, data in demo_files():
        file, created = stored_file_store(content=data, name=name, created_by=uploader)
        if created:
            log(f"  file {file.original_name} ({file.content_type}, {file.size} bytes): /api/files/{file.pk}/content/")
