"""Labelled synthetic Hong Kong receipts for tests, demos and benchmarks.

``python -m tools.receipt_generator --out DIR --count N --seed S [--noisy]`` writes ``NAME.png`` (or ``.jpg``
when noisy) plus ``NAME.json`` with the truth (``vendor``, ``date``, ``total``, ``currency``, ``tax``), the
DESIGN.md folder format. ``render_receipt(spec)`` returns PNG bytes for one ``ReceiptSpec``.

Why synthetic receipts: the real set is small and fixed; generated ones exercise what HK receipts vary in
(Traditional Chinese / English labels, 10% service charge, discounts, Octopus balances and cash tendered
printed next to the total, many date styles) with exact truth, and the noisy variant (thermal-paper
background, blur, rotation, JPEG) shows how the pipeline degrades. Fonts come from Debian packages
(requirements-system.txt) and are found by path at run time.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import random
import sys
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))
#: CJK fonts in preference order (file names as shipped by Debian: fonts-wqy-zenhei, fonts-wqy-microhei,
#: fonts-arphic-uming, fonts-noto-cjk, fonts-droid-fallback).
CJK_FONT_NAMES = (
    "wqy-zenhei.ttc",
    "wqy-microhei.ttc",
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKtc-Regular.otf",
    "uming.ttc",
    "ukai.ttc",
    "DroidSansFallbackFull.ttf",
)
CENT = Decimal("0.01")


class FontNotFoundError(RuntimeError):
    """No CJK font is installed."""


def find_cjk_fonts() -> list[Path]:
    """Installed CJK font files, preferred first; raises ``FontNotFoundError`` with the fix if none."""
    found: dict[str, Path] = {}
    for base in FONT_DIRS:
        root = Path(base)
        if not root.is_dir():
            continue
        for name in CJK_FONT_NAMES:
            for path in root.rglob(name):
                found.setdefault(name, path)
    fonts = [found[n] for n in CJK_FONT_NAMES if n in found]
    if not fonts:
        raise FontNotFoundError(
            "No CJK font found under "
            + ", ".join(FONT_DIRS)
            + ". Install one, e.g. `apt-get install -y fonts-wqy-zenhei` (see requirements-system.txt)."
        )
    return fonts


@dataclass
class ReceiptSpec:
    """What one receipt says. Amounts are ``Decimal``; the total is computed, never given."""

    vendor: str
    date: datetime.date
    items: list[tuple[str, Decimal]]
    currency: str = "HKD"
    vendor_en: str | None = None
    service_charge: bool = False
    discount: Decimal | None = None
    payment: str = "Octopus"  # Octopus, Visa, Cash, AlipayHK, WeChat Pay, Mastercard
    cash_tendered: Decimal | None = None
    octopus_balance: Decimal | None = None
    date_style: str = "iso"  # iso, dmy, cjk, dmon, dmy2, compact
    time: datetime.time = field(default_factory=lambda: datetime.time(12, 30))
    address: str = "九龍旺角彌敦道123號地下"
    phone: str = "2345 6789"
    receipt_no: str = "A00123"
    labels: str = "bilingual"  # bilingual, zh, en
    round_to_dollar: bool = False
    card_slip: bool = False  # append a card-terminal slip (金額 AMOUNT HKD ...) as many HK shops print

    @property
    def subtotal(self) -> Decimal:
        return sum((price for _, price in self.items), Decimal(0)).quantize(CENT)

    @property
    def service_amount(self) -> Decimal:
        if not self.service_charge:
            return Decimal(0)
        return (
            (self.subtotal * Decimal("0.10")).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP).quantize(CENT)
        )

    @property
    def total(self) -> Decimal:
        total = self.subtotal + self.service_amount - (self.discount or Decimal(0))
        if self.round_to_dollar:
            total = total.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return total.quantize(CENT)

    @property
    def printed_vendor(self) -> str:
        return f"{self.vendor} {self.vendor_en}" if self.vendor_en else self.vendor

    def truth(self) -> dict:
        """The DESIGN.md truth record."""
        return {
            "vendor": self.printed_vendor,
            "date": self.date.isoformat(),
            "total": str(self.total),
            "currency": self.currency,
            "tax": None,
        }


_SYMBOL = {"HKD": "$", "CNY": "¥", "MOP": "MOP$", "USD": "US$", "JPY": "¥"}


def _money(spec: ReceiptSpec, value: Decimal, sign: bool = True) -> str:
    text = f"{value:,.2f}"
    if not sign:
        return text
    symbol = _SYMBOL.get(spec.currency, "$")
    return f"{symbol}{text}" if value >= 0 else f"-{symbol}{-value:,.2f}"


def format_date(d: datetime.date, style: str, t: datetime.time | None = None) -> str:
    hm = f" {t:%H:%M}" if t else ""
    if style == "iso":
        return f"{d:%Y-%m-%d}{hm}"
    if style == "dmy":
        return f"{d:%d/%m/%Y}{hm}"
    if style == "cjk":
        return f"{d.year}年{d.month}月{d.day}日{hm}"
    if style == "dmon":
        return f"{d.day} {d:%b} {d.year}{hm}"
    if style == "dmy2":
        return f"{d:%d-%m-%y}{hm}"
    if style == "compact":
        return f"{d:%Y%m%d}/{t:%H:%M}" if t else f"{d:%Y%m%d}"
    raise ValueError(f"unknown date style {style!r}")


def _label(spec: ReceiptSpec, zh: str, en: str) -> str:
    return {"zh": zh, "en": en}.get(spec.labels, f"{zh} {en}")


def _lines(spec: ReceiptSpec) -> list[tuple[str, str, str]]:
    """(kind, left, right) rows; kind is title, center, row, rule, big."""
    rows: list[tuple[str, str, str]] = [("title", spec.vendor, "")]
    if spec.vendor_en:
        rows.append(("title2", spec.vendor_en, ""))
    rows += [
        ("center", spec.address, ""),
        ("center", f"Tel: {spec.phone}", ""),
        ("row", _label(spec, "單號", "No.") + f": {spec.receipt_no}", ""),
        ("row", _label(spec, "日期", "Date") + f": {format_date(spec.date, spec.date_style, spec.time)}", ""),
        ("rule", "", ""),
    ]
    for name, price in spec.items:
        rows.append(("row", name, _money(spec, price, sign=False)))
    rows.append(("rule", "", ""))
    rows.append(("row", _label(spec, "小計", "Subtotal"), _money(spec, spec.subtotal)))
    if spec.service_charge:
        rows.append(
            ("row", _label(spec, "加一服務費", "Service Charge 10%"), _money(spec, spec.service_amount))
        )
    if spec.discount:
        rows.append(("row", _label(spec, "折扣", "Discount"), _money(spec, -spec.discount)))
    rows.append(("big", _label(spec, "總計", "TOTAL"), _money(spec, spec.total)))
    pay_zh = {
        "Octopus": "八達通",
        "Cash": "現金",
        "Visa": "VISA",
        "Mastercard": "MASTER",
        "AlipayHK": "支付寶",
        "WeChat Pay": "微信支付",
    }.get(spec.payment, spec.payment)
    if spec.payment == "Cash" and spec.cash_tendered:
        rows.append(("row", _label(spec, "現金", "Cash"), _money(spec, spec.cash_tendered)))
        rows.append(("row", _label(spec, "找續", "Change"), _money(spec, spec.cash_tendered - spec.total)))
    else:
        rows.append(("row", pay_zh if spec.labels != "en" else spec.payment, _money(spec, spec.total)))
    if spec.payment == "Octopus" and spec.octopus_balance is not None:
        rows.append(("row", _label(spec, "餘額", "Balance"), _money(spec, spec.octopus_balance)))
    if spec.card_slip:
        rows += [
            ("rule", "", ""),
            ("row", f"{spec.payment.upper()} SALE 銷售", ""),
            ("row", "卡號 CARD NO.", "************" + spec.receipt_no[-4:]),
            ("row", "金額 AMOUNT", f"{spec.currency} {spec.total:,.2f}"),
            ("row", "批核 APPR CODE", spec.receipt_no[::-1]),
        ]
    rows += [("rule", "", ""), ("center", "多謝惠顧 Thank you!", "")]
    return rows


def render_receipt_image(
    spec: ReceiptSpec, *, width: int = 576, font_path: Path | None = None
) -> Image.Image:
    """The receipt as a clean RGB image, thermal-printer width (80 mm at 203 dpi is 576 dots)."""
    path = str(font_path or find_cjk_fonts()[0])
    size = 24
    font = ImageFont.truetype(path, size)
    big = ImageFont.truetype(path, 30)
    title = ImageFont.truetype(path, 38)
    rows = _lines(spec)
    margin, gap = 24, 10
    heights = {"title": 48, "title2": 40, "big": 40, "rule": 18}
    height = sum(heights.get(kind, size + gap) for kind, _, _ in rows) + 2 * margin + 20
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    y = margin
    for kind, left, right in rows:
        f = {"title": title, "title2": big, "big": big}.get(kind, font)
        if kind == "rule":
            draw.line((margin, y + 8, width - margin, y + 8), fill="black", width=2)
        elif kind in ("title", "title2", "center"):
            w = draw.textlength(left, font=f)
            draw.text(((width - w) / 2, y), left, font=f, fill="black")
        else:
            draw.text((margin, y), left, font=f, fill="black")
            if right:
                w = draw.textlength(right, font=f)
                draw.text((width - margin - w, y), right, font=f, fill="black")
        y += heights.get(kind, size + gap)
    return img


def render_receipt(spec: ReceiptSpec, *, noisy: bool = False, seed: int = 0, font_path: Path | None = None) -> bytes:
    """PNG bytes of the receipt (noisy: thermal background, blur and slight rotation, still PNG)."""
    img = render_receipt_image(spec, font_path=font_path)
    if noisy:
        img = add_noise(img, random.Random(seed))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def add_noise(img: Image.Image, rng: random.Random, strength: float = 1.0) -> Image.Image:
    """Thermal-paper look: warm uneven background, faded print, speckles, blur, a few degrees of rotation.

    ``strength`` above 1 also adds keystone distortion and downscaling, like a hand-held phone photo.
    """
    w, h = img.size
    paper = Image.new("RGB", (w, h), (rng.randint(235, 250), rng.randint(228, 242), rng.randint(205, 225)))
    shade = Image.linear_gradient("L").resize((w, h)).point(lambda v: int(v * rng.uniform(0.1, 0.25)))
    paper = Image.composite(Image.new("RGB", (w, h), (150, 145, 135)), paper, shade)
    ink = img.convert("L").point(lambda v: 255 if v > 200 else int(v * 0.4 + rng.uniform(40, 90)))
    out = Image.composite(Image.new("RGB", (w, h), (40, 40, 45)), paper, ink.point(lambda v: 255 - v))
    draw = ImageDraw.Draw(out)
    for _ in range(w * h // 900):
        x, y = rng.randrange(w), rng.randrange(h)
        c = rng.randint(90, 200)
        draw.point((x, y), fill=(c, c, c))
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.0) * strength))
    angle = rng.uniform(-3.0, 3.0) * strength
    out = out.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 90, 95))
    if strength > 1:
        # a phone photo: slight keystone (perspective) and a lower resolution
        w2, h2 = out.size
        k = rng.uniform(0.0, 0.04) * strength * w2
        quad = (k, 0, 0, h2, w2, h2, w2 - k, 0)
        out = out.transform(
            out.size, Image.Transform.QUAD, quad, resample=Image.Resampling.BICUBIC, fillcolor=(90, 90, 95)
        )
        scale = rng.uniform(0.6, 0.8)
        out = out.resize((int(w2 * scale), int(h2 * scale)), Image.Resampling.BILINEAR)
    return out


# ----------------------------------------------------------------------------------------------------------
# random specs

VENDORS = [
    ("金記茶餐廳", "KAM KEE CAFE"),
    ("華星冰室", "CAPITAL CAFE"),
    ("好運海鮮酒家", "GOOD LUCK SEAFOOD"),
    ("翠園", "JADE GARDEN"),
    ("美味燒味", None),
    ("大利粥麵", "TAI LEE CONGEE"),
    ("新記車仔麵", None),
    ("灣仔文具", "WAN CHAI STATIONERY"),
    ("港島的士", "ISLAND TAXI"),
    ("銅鑼灣書店", "CAUSEWAY BOOKS"),
    ("維港咖啡", "HARBOUR COFFEE"),
    ("樂活藥房", "LOHAS PHARMACY"),
]
ITEMS = [
    ("凍檸檬茶", "Iced Lemon Tea", (18, 32)),
    ("奶茶", "Milk Tea", (16, 28)),
    ("餐蛋麵", "Luncheon Meat Noodles", (32, 48)),
    ("叉燒飯", "BBQ Pork Rice", (42, 68)),
    ("蝦餃", "Shrimp Dumplings", (38, 58)),
    ("燒賣", "Siu Mai", (32, 48)),
    ("乾炒牛河", "Beef Ho Fun", (68, 98)),
    ("菠蘿油", "Pineapple Bun", (12, 22)),
    ("A4 影印紙", "A4 Paper", (35, 60)),
    ("文件夾", "File Folder", (8, 25)),
    ("的士車資", "Taxi Fare", (60, 320)),
    ("咖啡豆", "Coffee Beans", (120, 260)),
    ("清蒸石斑", "Steamed Grouper", (280, 680)),
    ("北京填鴨", "Peking Duck", (380, 520)),
    ("感冒藥", "Cold Remedy", (45, 95)),
]


def random_spec(rng: random.Random) -> ReceiptSpec:
    vendor, vendor_en = rng.choice(VENDORS)
    labels = rng.choice(["bilingual", "bilingual", "zh", "en"])
    items = []
    for _ in range(rng.randint(1, 6)):
        zh, en, (lo, hi) = rng.choice(ITEMS)
        name = {"zh": zh, "en": en}.get(labels, f"{zh} {en}")
        price = Decimal(rng.randint(lo * 10, hi * 10)) / 10
        items.append((name, price.quantize(CENT)))
    restaurant = any(k in vendor for k in ("餐", "冰室", "酒家", "翠園", "粥", "燒味", "麵"))
    payment = rng.choice(["Octopus", "Octopus", "Cash", "Visa", "AlipayHK", "Mastercard"])
    spec = ReceiptSpec(
        vendor=vendor,
        vendor_en=vendor_en,
        date=datetime.date(2026, 1, 1) + datetime.timedelta(days=rng.randint(0, 320)),
        time=datetime.time(rng.randint(7, 22), rng.randint(0, 59)),
        items=items,
        service_charge=restaurant and rng.random() < 0.7,
        discount=Decimal(rng.choice([5, 10, 20])).quantize(CENT) if rng.random() < 0.2 else None,
        payment=payment,
        date_style=rng.choice(["iso", "dmy", "cjk", "dmon", "dmy2", "compact"]),
        receipt_no=f"{rng.choice('ABCRT')}{rng.randint(10000, 99999)}",
        phone=f"{rng.choice('23')}{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        labels=labels,
        round_to_dollar=restaurant and rng.random() < 0.5,
    )
    spec.card_slip = payment in ("Visa", "Mastercard") and rng.random() < 0.6
    if payment == "Cash":
        spec.cash_tendered = (spec.total / 100).to_integral_value(rounding="ROUND_CEILING") * 100 + (
            Decimal(rng.choice([0, 100]))
        )
    if payment == "Octopus":
        spec.octopus_balance = Decimal(rng.randint(0, 9000)) / 10
    if spec.total <= 0:
        spec.discount = None
    return spec


def generate(out: Path, count: int, seed: int, noisy: bool, strength: float = 1.0) -> list[Path]:
    """Write ``count`` receipts with truth files into ``out``; returns the image paths."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    fonts = find_cjk_fonts()  # every installed CJK face in turn (requirements-system.txt installs three)
    written = []
    for i in range(count):
        spec = random_spec(rng)
        font = fonts[i % len(fonts)]
        name = f"synthetic_{seed}_{i:04d}"
        if noisy:
            img = add_noise(render_receipt_image(spec, font_path=font), rng, strength)
            path = out / f"{name}.jpg"
            img.save(path, format="JPEG", quality=rng.randint(55, 85))
        else:
            path = out / f"{name}.png"
            path.write_bytes(render_receipt(spec, font_path=font))
        (out / f"{name}.json").write_text(
            json.dumps(spec.truth(), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate labelled synthetic Hong Kong receipts.")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noisy", action="store_true", help="thermal background, blur, rotation, JPEG")
    parser.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="noise strength; above 1 adds phone-photo keystone and downscaling (default 1)",
    )
    args = parser.parse_args(argv)
    try:
        paths = generate(args.out, args.count, args.seed, args.noisy, args.strength)
    except FontNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(paths)} receipts to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
