"""`acountee_fold()` (migration acountee.0001_search_fold) and the term splitting of acountee.search."""

from __future__ import annotations

import unicodedata

import pytest
from django.db import connection

from acountee.search import MAX_TERMS, search_terms

pytestmark = pytest.mark.django_db


def fold(text: str | None) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT acountee_fold(%s)", [text])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("CÔNG TY TNHH DỊCH VỤ KỸ THUẬT SAO MAI", "cong ty tnhh dich vu ky thuat sao mai"),
        ("Đường Điện Biên Phủ, đá", "duong dien bien phu, da"),  # đ/Đ are letters, not accents: own rules
        ("Nguyễn Thị Ánh Tuyết — Ứng Ơn Ư Ơ", "nguyen thi anh tuyet - ung on u o"),
        ("50% GIẢM_GIÁ \\", "50% giam_gia \\"),  # wildcards stay; escaping is the caller's job
        ("", ""),
    ],
)
def test_fold(raw, folded):
    assert fold(raw) == folded


def test_decomposed_text_folds_like_precomposed():
    raw = "CÔNG TY ĐIỆN LỰC Hà Nội"
    assert fold(unicodedata.normalize("NFD", raw)) == fold(raw) == "cong ty dien luc ha noi"


def test_null_is_null_and_function_is_immutable():
    assert fold(None) is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT provolatile, proisstrict FROM pg_proc WHERE proname = 'acountee_fold'")
        assert cursor.fetchall() == [("i", True)]  # IMMUTABLE: usable in an index


def test_terms():
    assert search_terms("  cong   ty\tsao\nmai ") == ["cong", "ty", "sao", "mai"]
    assert search_terms("\"sao mai\" 'ky thuat' sao mai") == ["sao mai", "ky thuat", "sao", "mai"]
    assert search_terms("a\x00b") == ["a", "b"]  # controls are separators, never part of a term
    assert search_terms('" " "" \'\' sao') == ["sao"]
    assert search_terms("mai mai MAI") == ["mai", "MAI"]  # folding happens in SQL
    assert search_terms(" ".join(f"t{n}" for n in range(50))) == [f"t{n}" for n in range(MAX_TERMS)]
    assert search_terms("") == search_terms("   ") == []
    assert len("".join(search_terms("x" * 10_000))) == 200


def test_admin_prefixes_do_not_break_the_search():
    from accounts.models import User
    from acountee.search import search_filter
    from tests.accounts.factories import UserFactory

    user = UserFactory(email="ke.toan@acountee.test", name="Kế Toán Trưởng")
    assert list(search_filter(User.objects.all(), "KE TOAN", ["=email", "^name"])) == [user]
