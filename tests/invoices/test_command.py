"""`manage.py import_invoices PATH…`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from invoices.models import Invoice
from tests.invoices.factories import fixture, invoice_xml, zip_of

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, int]:
    out = StringIO()
    try:
        call_command("import_invoices", *args, stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        return out.getvalue(), int(exit_.code or 0)
    return out.getvalue(), 0


def test_imports_files_and_directories_with_one_line_per_entry(tmp_path):
    (tmp_path / "a.xml").write_bytes(invoice_xml(1))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.zip").write_bytes(zip_of([("b1.xml", invoice_xml(2)), ("b2.xml", invoice_xml(3))]))
    (tmp_path / "notes.txt").write_text("ignored")
    output, code = run(str(tmp_path))
    assert code == 0
    assert output.count("OK  ") == 4  # a.xml, the zip line, two entries
    assert "3 imported, 0 skipped (duplicates), 0 failed" in output
    assert Invoice.objects.count() == 3
    again, code = run(str(tmp_path / "a.xml"))
    assert code == 0 and "SKIP" in again and "0 imported, 1 skipped" in again


def test_exit_1_when_any_entry_failed(tmp_path):
    (tmp_path / "good.xml").write_bytes(invoice_xml(1))
    (tmp_path / "bad.xml").write_bytes(fixture("xxe_external_entity.xml"))
    output, code = run(str(tmp_path / "good.xml"), str(tmp_path / "bad.xml"), str(tmp_path / "missing.xml"))
    assert code == 1
    assert "FAIL" in output and "DTD" in output and "no such file" in output
    assert "1 imported, 0 skipped (duplicates), 2 failed" in output
    assert Invoice.objects.count() == 1


def test_user_option(tmp_path, finance):
    (tmp_path / "a.xml").write_bytes(invoice_xml(1))
    _output, code = run(str(tmp_path / "a.xml"), "--user", finance.email)
    assert code == 0
    assert Invoice.objects.get().imported_by == finance
