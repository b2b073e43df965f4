"""Realistic synthetic e-invoices (the XML layout in docs/invoices.md) for demo data, the benchmark and tests.

Totals are consistent: line amounts, per-rate summaries, tax and payable add up. Companies
and tax codes are made up.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from acountee.amount_words import amount_in_words_vi

SELLERS = [
    (
        "0312345678",
        "CÔNG TY TNHH DỊCH VỤ KỸ THUẬT SAO MAI",
        "12 Nguyễn Huệ, Quận 1, TP Hồ Chí Minh",
        "0071000123456",
        "Vietcombank - CN Hồ Chí Minh",
    ),
    ("0109876543", "CÔNG TY CỔ PHẦN VẬT TƯ HÀ THÀNH", "45 Láng Hạ, Đống Đa, Hà Nội", "", ""),
    (
        "0401122334-001",
        "CÔNG TY TNHH PHẦN MỀM LẠC HỒNG - CHI NHÁNH ĐÀ NẴNG",
        "8 Bạch Đằng, Hải Châu, Đà Nẵng",
        "19034567890123",
        "Techcombank - CN Đà Nẵng",
    ),
    (
        "0305551234",
        "CÔNG TY TNHH VĂN PHÒNG PHẨM BẾN THÀNH",
        "210 Lê Lợi, Quận 1, TP Hồ Chí Minh",
        "1012345678",
        "VietinBank - CN 1",
    ),
    (
        "0107778899",
        "CÔNG TY CỔ PHẦN VIỄN THÔNG THĂNG LONG",
        "3 Duy Tân, Cầu Giấy, Hà Nội",
        "12010000123456",
        "BIDV - CN Cầu Giấy",
    ),
    (
        "0201234567",
        "CÔNG TY TNHH VẬN TẢI HẢI PHÒNG XANH",
        "17 Lạch Tray, Ngô Quyền, Hải Phòng",
        "0031000999888",
        "Vietcombank - CN Hải Phòng",
    ),
]
BUYER = ("0316543210", "CÔNG TY TNHH ACOUNTEE VIỆT NAM", "99 Điện Biên Phủ, Bình Thạnh, TP Hồ Chí Minh")
ITEMS = [
    ("Giấy in A4 Double A 80gsm", "Ram", 68000),
    ("Mực in HP 107A", "Hộp", 1250000),
    ("Dịch vụ bảo trì máy chủ", "Tháng", 15000000),
    ("Ổ cứng SSD 1TB", "Cái", 2350000),
    ("Cước internet cáp quang", "Tháng", 880000),
    ("Phí vận chuyển", "Lần", 200000),
    ("Bút bi Thiên Long", "Hộp", 45000),
    ("Bản quyền phần mềm kế toán", "Gói", 24000000),
    ("Nước uống đóng chai", "Thùng", 95000),
    ("Thuê xe tải 5 tấn", "Chuyến", 3500000),
]
RATES = ["10%", "8%", "5%", "0%", "KCT", "KKKNT", "KHAC:3.5%"]
RATE_WEIGHTS = [50, 25, 8, 5, 6, 3, 3]


@dataclass(frozen=True)
class SampleInvoice:
    name: str
    content: bytes
    lines: int


def _rate_value(text: str) -> Decimal:
    if text.endswith("%"):
        return Decimal(text.rsplit(":", 1)[-1].rstrip("%"))
    return Decimal("0")


def make_invoice(
    number: int,
    *,
    rng: random.Random | None = None,
    issue_date: date | None = None,
    lines: int | None = None,
    series: str = "C26TAB",
    seller: int | None = None,
) -> SampleInvoice:
    rng = rng or random.Random(number)  # noqa: S311 - sample data, not secrets
    tax_code, seller_name, seller_address, bank_account, bank_name = SELLERS[
        seller if seller is not None else number % len(SELLERS)
    ]
    issue = issue_date or date(2026, 1, 1) + timedelta(days=number % 300)
    count = lines if lines is not None else rng.randint(1, 20)
    rows = []
    per_rate: dict[str, list[Decimal]] = {}
    for position in range(1, count + 1):
        name, unit, price = ITEMS[rng.randrange(len(ITEMS))]
        quantity = Decimal(rng.randint(1, 40))
        amount = quantity * price
        rate = rng.choices(RATES, RATE_WEIGHTS)[0]
        tax = (amount * _rate_value(rate) / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        bucket = per_rate.setdefault(rate, [Decimal(0), Decimal(0)])
        bucket[0] += amount
        bucket[1] += tax
        rows.append(
            f"<HHDVu><TChat>1</TChat><STT>{position}</STT><MHHDVu>SP{position:03d}</MHHDVu>"
            f"<THHDVu>{escape(name)}</THHDVu><DVTinh>{unit}</DVTinh><SLuong>{quantity}.000000</SLuong>"
            f"<DGia>{price}.000000</DGia><TLCKhau>0</TLCKhau><STCKhau>0</STCKhau><ThTien>{amount}</ThTien>"
            f"<TSuat>{rate}</TSuat></HHDVu>"
        )
    summaries = "".join(
        f"<LTSuat><TSuat>{rate}</TSuat><ThTien>{v[0]}</ThTien><TThue>{v[1]}</TThue></LTSuat>"
        for rate, v in per_rate.items()
    )
    before = sum((v[0] for v in per_rate.values()), Decimal(0))
    tax = sum((v[1] for v in per_rate.values()), Decimal(0))
    bank = f"<STKNHang>{bank_account}</STKNHang><TNHang>{escape(bank_name)}</TNHang>" if bank_account else ""
    code = hashlib.sha256(f"{tax_code}/{series}/{number}".encode()).hexdigest()[:34].upper()
    mccqt = "" if series.startswith("K") else f'<MCCQT Id="Id-{number}">{code}</MCCQT>'
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<HDon><DLHDon Id="data"><TTChung><PBan>2.0.1</PBan><THDon>Hóa đơn giá trị gia tăng</THDon>'
        f"<KHMSHDon>1</KHMSHDon><KHHDon>{series}</KHHDon><SHDon>{number:08d}</SHDon><NLap>{issue.isoformat()}</NLap>"
        "<DVTTe>VND</DVTTe><HTTToan>TM/CK</HTTToan><MSTTCGP>0101243150</MSTTCGP></TTChung><NDHDon>"
        f"<NBan><Ten>{escape(seller_name)}</Ten><MST>{tax_code}</MST><DChi>{escape(seller_address)}</DChi>{bank}</NBan>"
        f"<NMua><Ten>{BUYER[1]}</Ten><MST>{BUYER[0]}</MST><DChi>{escape(BUYER[2])}</DChi></NMua>"
        f"<DSHHDVu>{''.join(rows)}</DSHHDVu><TToan><THTTLTSuat>{summaries}</THTTLTSuat>"
        f"<TgTCThue>{before}</TgTCThue><TgTThue>{tax}</TgTThue><TTCKTMai>0</TTCKTMai>"
        f"<TgTTTBSo>{before + tax}</TgTTTBSo><TgTTTBChu>{amount_in_words_vi(before + tax)}</TgTTTBChu></TToan>"
        f"</NDHDon></DLHDon>{mccqt}<DSCKS><NBan/><NMua/></DSCKS></HDon>"
    )
    return SampleInvoice(name=f"{tax_code}_{series}_{number:08d}.xml", content=xml.encode("utf-8"), lines=count)
