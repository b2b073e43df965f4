"""audit.display: history rows read by people — labels, yes/no, money, choices, local times."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from audit.display import format_value, history_rows
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def entry(**kwargs) -> AuditEntry:
    return AuditEntry(actor="maker@acountee.test", occurred_at=dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC), **kwargs)


def test_semantic_metadata_is_label_value_not_a_dict():
    e = entry(
        action="approve",
        table_name="pr",
        record_id="7",
        metadata={"step": 2, "on_behalf_of": None, "step_satisfied": True, "pr_approved": False},
    )
    html = render_to_string("admin/audit/history_table.html", {"rows": history_rows([e])})
    assert "Approved" in html and "<strong>Step</strong>: 2" in html
    assert "<strong>Step satisfied</strong>: Yes" in html and "<strong>Payment request approved</strong>: No" in html
    assert "On behalf of" not in html  # empty values left out
    assert "{" not in html.split("<tbody>")[1]
    assert "Nov. 29, 2026, 10 a.m." in html  # 03:00 UTC in Asia/Ho_Chi_Minh


def test_snapshot_diff_shows_only_changed_fields_with_labels_money_and_local_times():
    before = {
        "id": 7,
        "name": "A",
        "status": "draft",
        "amount": "1500000.00",
        "currency": "VND",
        "updated_at": "2026-11-29T03:00:00+00:00",
    }
    after = {**before, "status": "pending", "amount": "2500000.00", "updated_at": "2026-11-29T04:30:00+00:00"}
    html = render_to_string(
        "admin/audit/history_table.html",
        {"rows": history_rows([entry(action="UPDATE", table_name="pr", record_id="7", before=before, after=after)])},
    )
    assert "Draft → Pending approval" in html
    assert "1,500,000 VND → 2,500,000 VND" in html
    assert "10 a.m. → Nov. 29, 2026, 11:30 a.m." in html
    assert "<strong>Name</strong>" not in html and "2026-11-29T" not in html


def test_vietnamese_formats_follow_the_active_language():
    with translation.override("vi"):
        assert format_value(True) == "Có"
        html = render_to_string("admin/audit/history_value.html", {"value": format_value("2026-11-29T03:00:00+00:00")})
    assert "29" in html and "2026" in html and "10:00" in html


@pytest.mark.parametrize("hostile", ["<script>x</script>", "2026-99-99T99:99", "x" * 5000, {"a": [1, {"b": None}]}])
def test_hostile_values_are_escaped_and_bounded(hostile):
    html = render_to_string(
        "admin/audit/history_table.html",
        {
            "rows": history_rows(
                [entry(action="<b>odd</b>", table_name="nowhere", record_id="1", metadata={"<i>k</i>": hostile})]
            )
        },
    )
    assert "<script>" not in html and "<b>odd" not in html and "<i>k" not in html
    assert len(html) < 3000


def test_a_created_row_lists_its_values_without_arrows():
    e = entry(action="INSERT", table_name="pr", record_id="7", after={"id": 7, "name": "Cước", "status": "draft"})
    html = render_to_string("admin/audit/history_table.html", {"rows": history_rows([e])})
    assert "Created" in html and "<strong>Status</strong>: Draft</div>" in html and "→" not in html.split("<tbody>")[1]


def test_dates_stay_dates_and_amounts_inside_json_are_grouped():
    """An invoice's history (issue 19): its original's issue date is a date, not "00:00 …"; its per-rate summary
    reads 1.470.000, not 1470000.00; a bank account is left as written."""
    with translation.override("vi"):
        assert format_value("2026-10-01") == {"date": dt.date(2026, 10, 1)}
        summary = [{"tax_rate_text": "10%", "tax_amount": "1470000.00", "taxable_amount": "14700000.00"}]
        assert format_value(summary) == "tax_rate_text: 10%; tax_amount: 1.470.000; taxable_amount: 14.700.000"
        assert format_value({"account": "0071000123456"}) == "account: 0071000123456"
        assert format_value(15000000.0) == "15.000.000" and format_value(2.5) == "2,5"  # a line's unit price, quantity
        assert format_value(7) == "7"  # ids and counts as they are
