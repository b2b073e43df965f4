"""Server-rendered SVG charts (no JavaScript, no external service): bars and stacked bars.

Every label goes through `django.utils.html.escape`; numbers are formatted here, so a supplier
named `<script>` is drawn as text, never markup."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

PALETTE = ["#79aec8", "#417690", "#f5dd5d", "#70bf2b", "#ba2121", "#9b59b6", "#e67e22"]
WIDTH, BAR_AREA_HEIGHT, TOP, LEFT, BOTTOM = 760, 220, 30, 90, 70


def _scales() -> tuple[tuple[Decimal, str], ...]:
    """Short amounts in the reader's language: 1,3 tỷ / 250 triệu in Vietnamese, 1.3B / 250M in English."""
    return (
        (Decimal(10**9), pgettext("short amount in billions", "%(number)sB")),
        (Decimal(10**6), pgettext("short amount in millions", "%(number)sM")),
        (Decimal(10**3), pgettext("short amount in thousands", "%(number)sk")),
    )


def _fmt(value: Any) -> str:
    value = Decimal(str(value or 0))
    for limit, template in _scales():
        if abs(value) >= limit:
            return template % {"number": number_format((value / limit).quantize(Decimal("0.1")).normalize())}
    return number_format(value.quantize(Decimal("0.01")).normalize())


def stacked_bars(
    *, categories: Sequence[str], series: Sequence[tuple[str, Sequence[Any]]], title: str = ""
) -> SafeString:
    """One bar per category, one stacked segment per series (a single series is a plain bar chart)."""
    n = max(len(categories), 1)
    totals = [sum((Decimal(str(s[1][i] or 0)) for s in series), Decimal(0)) for i in range(len(categories))]
    peak = max([*totals, Decimal(0)]) or Decimal(1)
    slot = (WIDTH - LEFT - 10) / n
    bar = max(min(slot * 0.7, 60), 2)
    height = TOP + BAR_AREA_HEIGHT + BOTTOM + 20 * ((len(series) + 3) // 4)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" class="report-chart" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + BAR_AREA_HEIGHT}" x2="{WIDTH - 5}" y2="{TOP + BAR_AREA_HEIGHT}" stroke="#999"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{escape(_fmt(peak))}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + BAR_AREA_HEIGHT}" text-anchor="end">0</text>',
    ]
    for i, category in enumerate(categories):
        x = LEFT + i * slot + (slot - bar) / 2
        y: float = TOP + BAR_AREA_HEIGHT
        for j, (label, values) in enumerate(series):
            value = Decimal(str(values[i] or 0))
            if value <= 0:
                continue
            h = float(value / peak) * BAR_AREA_HEIGHT
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(category)} · {escape(label)}: {escape(_fmt(value))}</title></rect>"
            )
        cx = x + bar / 2
        ly = TOP + BAR_AREA_HEIGHT + 12
        parts.append(
            f'<text x="{cx:.1f}" y="{ly}" text-anchor="end" transform="rotate(-35 {cx:.1f} {ly})">'
            f"{escape(category[:28])}</text>"
        )
    legend_y = TOP + BAR_AREA_HEIGHT + BOTTOM
    if len(series) > 1:
        for j, (label, _values) in enumerate(series):
            lx, ly = LEFT + (j % 4) * 170, legend_y + 20 * (j // 4)
            parts.append(
                f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
                f'<text x="{lx + 14}" y="{ly}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated label is escaped above


def chart_for(report: Any) -> SafeString:
    """The chart each report is drawn with."""
    from payments.reports import queries as q

    rows = report.rows
    if report.key == "payables-by-month":
        months = list(dict.fromkeys(r["month"] for r in rows))
        amounts = {(r["month"], r["status"]): r["amount"] for r in rows}
        series = [(str(label), [amounts.get((m, key), 0) for m in months]) for key, label in q.PAYABLE_STATUSES]
        return stacked_bars(categories=months, series=series, title=str(report.title))
    if report.key == "payables-by-supplier":
        return stacked_bars(
            categories=[r["name"] or r["tax_code"] for r in rows],
            series=[(str(_("Unpaid")), [r["outstanding"] for r in rows]), (str(_("Paid")), [r["paid"] for r in rows])],
            title=str(report.title),
        )
    if report.key == "aging":
        buckets = [str(label) for _k, label in q.AGING_BUCKETS]
        amounts = {(r["bucket"], r["kind"]): r["amount"] for r in rows}
        series = [
            (str(label), [amounts.get((b, kind), 0) for b, _l in q.AGING_BUCKETS]) for kind, label in q.AGING_KINDS
        ]
        return stacked_bars(categories=buckets, series=series, title=str(report.title))
    if report.key == "approval-cycle-time":
        flows = report.sections["per_flow"].rows
        return stacked_bars(
            categories=[r["flow"] for r in flows],
            series=[(str(_("Median (hours)")), [r["median_hours"] for r in flows])],
            title=str(report.title),
        )
    return mark_safe("")
