"""E-invoice XML written by the tests, one quirk at a time (never tuned to real files or the samples).

`invoice(...)` gives the bytes of one invoice; every part has a plain default so a test states only
the quirk it is about. Totals are what the test says, not recomputed: files that disagree are the point
of some tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape

SELLER_TAX_CODE = "0312345678"


@dataclass
class L:
    """One HHDVu line."""

    amount: str
    rate: str | None = "10%"
    nature: int = 1
    name: str = "Dịch vụ kỹ thuật"
    ttkhac: dict[str, str] = field(default_factory=dict)
    tthue: str | None = None  # a TThue element on the line itself

    def xml(self, position: int) -> str:
        extras = "".join(
            f"<TTin><TTruong>{escape(k)}</TTruong><KDLieu>numeric</KDLieu><DLieu>{escape(v)}</DLieu></TTin>"
            for k, v in self.ttkhac.items()
        )
        return (
            f"<HHDVu><TChat>{self.nature}</TChat><STT>{position}</STT><MHHDVu>SP{position:03d}</MHHDVu>"
            f"<THHDVu>{escape(self.name)}</THHDVu><DVTinh>Lần</DVTinh><SLuong>1</SLuong><DGia>{self.amount}</DGia>"
            f"<ThTien>{self.amount}</ThTien>"
            + (f"<TSuat>{self.rate}</TSuat>" if self.rate is not None else "")
            + (f"<TThue>{self.tthue}</TThue>" if self.tthue is not None else "")
            + (f"<TTKhac>{extras}</TTKhac>" if extras else "")
            + "</HHDVu>"
        )


def invoice(
    *,
    lines: list[L] | None = None,
    summaries: list[tuple[str, str, str]] | None = None,  # (TSuat, ThTien, TThue)
    before: str | None = None,
    tax: str | None = None,
    payable: str | None = None,
    version: str | None = "2.0.1",
    date_tag: str = "NLap",
    issue_date: str = "2026-10-05",
    currency: str | None = "VND",
    form: str = "1",
    series: str = "C26TAA",
    number: str = "00000123",
    seller_tax_code: str = SELLER_TAX_CODE,
    related: dict[str, str] | None = None,  # TTHDLQuan children
    mccqt: str | None = None,
    signatures: str = "<DSCKS><NBan/><NMua/></DSCKS>",
    data_id: str = "data",
) -> bytes:
    lines = lines if lines is not None else [L("1000000")]
    if before is None:
        before = str(sum((Decimal(line.amount) for line in lines if line.nature == 1), Decimal(0)))
    if tax is None and summaries is not None:
        tax = str(sum((Decimal(s[2]) for s in summaries), Decimal(0)))
    if payable is None:
        payable = str(Decimal(before) + Decimal(tax or 0))
    summary_xml = (
        "<THTTLTSuat>"
        + "".join(f"<LTSuat><TSuat>{r}</TSuat><ThTien>{a}</ThTien><TThue>{t}</TThue></LTSuat>" for r, a, t in summaries)
        + "</THTTLTSuat>"
        if summaries is not None
        else ""
    )
    related_xml = (
        "<TTHDLQuan>" + "".join(f"<{k}>{v}</{k}>" for k, v in related.items()) + "</TTHDLQuan>" if related else ""
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<HDon><DLHDon Id="{data_id}"><TTChung>'
        + (f"<PBan>{version}</PBan>" if version is not None else "")
        + f"<THDon>Hóa đơn giá trị gia tăng</THDon><KHMSHDon>{form}</KHMSHDon><KHHDon>{series}</KHHDon>"
        f"<SHDon>{number}</SHDon><{date_tag}>{issue_date}</{date_tag}>"
        + (f"<DVTTe>{escape(currency)}</DVTTe>" if currency is not None else "")
        + f"<HTTToan>TM/CK</HTTToan><MSTTCGP>0101243150</MSTTCGP>{related_xml}</TTChung><NDHDon>"
        f"<NBan><Ten>CÔNG TY TNHH KIỂM THỬ</Ten><MST>{seller_tax_code}</MST><DChi>1 Lê Lợi</DChi>"
        "<STKNHang>0071000123456</STKNHang><TNHang>Vietcombank</TNHang></NBan>"
        "<NMua><Ten>CÔNG TY TNHH ACOUNTEE VIỆT NAM</Ten><MST>0316543210</MST><DChi>99 Điện Biên Phủ</DChi></NMua>"
        "<DSHHDVu>" + "".join(line.xml(i) for i, line in enumerate(lines, start=1)) + "</DSHHDVu>"
        f"<TToan>{summary_xml}<TgTCThue>{before}</TgTCThue>"
        + (f"<TgTThue>{tax}</TgTThue>" if tax is not None else "")
        + f"<TTCKTMai>0</TTCKTMai><TgTTTBSo>{payable}</TgTTTBSo><TgTTTBChu>Bằng chữ</TgTTTBChu></TToan>"
        "</NDHDon></DLHDon>" + (f'<MCCQT Id="Id-MCCQT">{mccqt}</MCCQT>' if mccqt else "") + signatures + "</HDon>"
    )
    return xml.encode("utf-8")
