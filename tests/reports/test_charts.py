"""The SVG charts are well-formed XML, draw one rectangle per non-zero segment, and escape labels."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from payments.reports.charts import stacked_bars

NS = "{http://www.w3.org/2000/svg}"


def test_stacked_bars_are_valid_svg_with_escaped_labels():
    svg = stacked_bars(
        categories=["<b>A&B</b>", "2026-11"],
        series=[("unpaid <i>", [Decimal("10"), Decimal("0")]), ("paid", [Decimal("5"), Decimal("20")])],
        title="T <script>",
    )
    root = ET.fromstring(str(svg))
    bars = [r for r in root.iter(NS + "rect") if r.find(NS + "title") is not None]
    assert len(bars) == 3  # the zero segment is not drawn
    texts = "".join(t.text or "" for t in root.iter(NS + "text"))
    assert "<b>A&B</b>" in texts  # the parsed text is the original label: it was escaped, not markup
    assert "<script>" not in str(svg) and "&lt;script&gt;" in str(svg)
    # The tallest stack (20 + 0) fills the chart height; 10 + 5 is three quarters of it.
    heights = sorted(float(r.get("height")) for r in bars)
    assert heights[-1] == 220.0 and heights[0] + heights[1] == 165.0


def test_empty_chart_is_valid():
    ET.fromstring(str(stacked_bars(categories=[], series=[], title="")))


def test_axis_amounts_read_in_the_readers_language():
    from django.utils import translation

    from payments.reports.charts import _fmt

    with translation.override("vi"):
        assert [_fmt(v) for v in (1_300_000_000, 250_000_000, 45_000, 12.5)] == [
            "1,3 tỷ",
            "250 triệu",
            "45 nghìn",
            "12,5",
        ]
    with translation.override("en"):
        assert [_fmt(v) for v in (1_300_000_000, 250_000_000, 45_000, 12.5)] == ["1.3B", "250M", "45k", "12.5"]
