"""A second receipt generator: layouts the extraction rules were never tuned on, with exact truth.

``python -m tools.hk_layouts --out DIR --count N --seed S --variant clean|noisy|photo [--layout NAME]`` writes
``NAME.png`` (clean) or ``NAME.jpg`` plus ``NAME.json`` (the DESIGN.md truth: ``vendor``, ``date``, ``total``,
``currency``, ``tax``, plus ``layout``, ``variant``, ``amounts`` and, for photos, ``exif_orientation``).

Why a second generator: ``tools/receipt_generator.py`` shaped the rules the reader was tuned on, so scoring on
its output says little about receipts of other shapes. This one differs on purpose: each layout is a function
that returns printed rows (cells, alignment, size) and the amounts behind them, a separate renderer draws them
at several paper widths and column grids in other typefaces (Noto CJK HK/TC/SC, mono faces), and the wording
varies (繁/简/English synonyms for totals, tendered cash and Octopus balances beside the total, amounts due
before tips, tax lines, foreign-currency lines). The ``photo`` variant is a desk photo (perspective, uneven
light, background, sometimes stored sideways with an EXIF Orientation tag), since that is how claimants send
receipts.

Seeds: below 1000 are for tuning the reader, 9000-9999 are held out for ``bench.generalisation``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

CENT = Decimal("0.01")
VARIANTS = ("clean", "noisy", "photo")
EXIF_ORIENTATION_TAG = 0x0112


class NoFontError(RuntimeError):
    """None of the typefaces this generator draws with is installed."""


# ----------------------------------------------------------------------------------------------------------
# printed rows


@dataclass(frozen=True)
class Row:
    """One printed line. ``cells`` are laid out by ``align``: ``split`` puts the first cell left, the last
    right-aligned and any middle cells right-aligned at the receipt's column stops; ``center``/``left``/``right``
    print the cells joined by spaces; ``rule`` draws a line (``dashes``: a dashed one)."""

    cells: tuple[str, ...] = ()
    align: str = "split"
    size: str = "m"  # s, m, l, xl


def split(*cells: str, size: str = "m") -> Row:
    return Row(tuple(cells), "split", size)


def center(text: str, size: str = "m") -> Row:
    return Row((text,), "center", size)


def left(text: str, size: str = "m") -> Row:
    return Row((text,), "left", size)


RULE = Row((), "rule")
DASHES = Row((), "dashes")


@dataclass
class Printed:
    """A receipt as a layout prints it: rows, the truth, and the named amounts the rows show (for checks)."""

    layout: str
    rows: list[Row]
    vendor: str
    date: datetime.date
    total: Decimal
    currency: str
    tax: Decimal | None = None
    amounts: dict[str, Decimal] = field(default_factory=dict)
    script: str = "hant"  # hant, hans, latin: which typefaces can print it
    width: int = 512
    columns: tuple[float, ...] = ()  # column stops (fractions of the printable width) for middle cells

    def truth(self, variant: str) -> dict:
        return {
            "vendor": self.vendor,
            "date": self.date.isoformat(),
            "total": str(self.total.quantize(CENT)),
            "currency": self.currency,
            "tax": str(self.tax.quantize(CENT)) if self.tax is not None else None,
            "layout": self.layout,
            "variant": variant,
            "amounts": {k: str(q(v)) for k, v in self.amounts.items()},
        }

    def text(self) -> str:
        return "\n".join(" ".join(r.cells) for r in self.rows)


# ----------------------------------------------------------------------------------------------------------
# wording helpers


def q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal, marker: str = "", commas: bool = True) -> str:
    body = f"{abs(value):,.2f}" if commas else f"{abs(value):.2f}"
    sign = "-" if value < 0 else ""
    if not marker:
        return sign + body
    sep = " " if marker[-1].isalpha() else ""
    return f"{sign}{marker}{sep}{body}"


def fmt_date(d: datetime.date, style: str) -> str:
    return {
        "iso": f"{d:%Y-%m-%d}",
        "dmy": f"{d:%d/%m/%Y}",
        "cjk": f"{d.year}年{d.month}月{d.day}日",
        "cjk0": f"{d.year}年{d.month:02d}月{d.day:02d}日",
        "dmon2": f"{d.day:02d}-{d:%b}-{d:%y}".upper(),
        "dmon": f"{d.day} {d:%b} {d.year}",
        "dot": f"{d:%Y.%m.%d}",
        "ymd": f"{d:%Y/%m/%d}",
        "mdy_en": f"{d:%b} {d.day}, {d.year}",
    }[style]


def fmt_time(t: datetime.time, style: str) -> str:
    if style == "12h":
        return f"{(t.hour - 1) % 12 + 1}:{t:%M} {'PM' if t.hour >= 12 else 'AM'}"
    if style == "zh":
        return f"{'下午' if t.hour >= 12 else '上午'}{(t.hour - 1) % 12 + 1}:{t:%M}"
    if style == "sec":
        return f"{t:%H:%M:%S}"
    return f"{t:%H:%M}"


def pick_label(rng: random.Random, lang: str, zh: list[str], en: list[str]) -> str:
    """A label in the receipt's language: zh, en, or both (``zh en``, sometimes ``en/zh``)."""
    if lang == "zh":
        return rng.choice(zh)
    if lang == "en":
        return rng.choice(en)
    a, b = rng.choice(zh), rng.choice(en)
    return rng.choice([f"{a} {b}", f"{a} {b}", f"{b}/{a}"])


def random_date(rng: random.Random) -> datetime.date:
    return datetime.date(2025, 1, 2) + datetime.timedelta(days=rng.randint(0, 660))


def random_time(rng: random.Random) -> datetime.time:
    return datetime.time(rng.randint(7, 22), rng.randint(0, 59), rng.randint(0, 59))


def price(rng: random.Random, lo: float, hi: float, step: str = "0.1") -> Decimal:
    s = Decimal(step)
    n = rng.randint(int(Decimal(str(lo)) / s), int(Decimal(str(hi)) / s))
    return q(n * s)


def tendered_for(rng: random.Random, total: Decimal) -> Decimal:
    """Cash handed over: the next note or two above the total (a round number, the trap the reader fell in)."""
    for note in (Decimal(20), Decimal(50), Decimal(100), Decimal(500), Decimal(1000)):
        if total < note * 3:
            break
    up = (total / note).to_integral_value(rounding="ROUND_CEILING") * note
    if up == total:
        up += note
    return q(up + note * rng.choice([0, 0, 1]))


CN_DIGITS = "零壹贰叁肆伍陆柒捌玖"


def cny_capitals(amount: Decimal) -> str:
    """The 大写 form of a CNY amount (发票 print it beside the 小写 ¥ figure): 1060.50 → 壹仟零陆拾元伍角."""
    cents = int(q(amount) * 100)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)

    def group(n: int) -> str:
        out, zero = "", False
        for unit, div in (("仟", 1000), ("佰", 100), ("拾", 10), ("", 1)):
            d = n // div % 10
            if d == 0:
                zero = bool(out)
            else:
                out += ("零" if zero else "") + CN_DIGITS[d] + unit
                zero = False
        return out

    text = ""
    groups = [(yuan // 10**8, "亿"), (yuan // 10**4 % 10**4, "万"), (yuan % 10**4, "")]
    pending_zero = False
    for n, big in groups:
        if n == 0:
            pending_zero = bool(text)
            continue
        if text and (pending_zero or n < 1000):
            text += "零"
        text += group(n) + big
        pending_zero = False
    if text:
        text += "元"
    if jiao == 0 and fen == 0:
        return (text or "零元") + "整"
    if jiao:
        text += CN_DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += CN_DIGITS[fen] + "分"
    return text


# ----------------------------------------------------------------------------------------------------------
# layouts: each returns a Printed for one random receipt


def cha_chaan_teng(rng: random.Random) -> Printed:
    """茶餐廳: 加一 service charge, cash tendered + 找續 or Octopus with its remaining value."""
    name = rng.choice(
        [
            ("新興隆茶餐廳", "SUN HING LUNG RESTAURANT"),
            ("蘭芳園", None),
            ("金華冰廳", "KAM WAH CAFE"),
            ("祥記茶餐廳", "CHEUNG KEE CAFE"),
            ("澳洲牛奶公司", None),
            ("美都餐室", "MIDO CAFE"),
        ]
    )
    lang = rng.choice(["zh", "zh", "both"])
    d, t = random_date(rng), random_time(rng)
    menu = [
        ("西多士", 22, 34),
        ("沙嗲牛肉麵", 34, 46),
        ("焗豬扒飯", 58, 78),
        ("鴛鴦", 18, 24),
        ("凍檸茶", 19, 26),
        ("火腿通粉", 30, 42),
        ("菠蘿包", 10, 16),
        ("常餐", 38, 52),
        ("星洲炒米", 55, 72),
    ]
    mk = rng.choice(["$", "HK$", ""])
    rows = [center(name[0], "xl")]
    if name[1] and lang == "both":
        rows.append(center(name[1], "l"))
    rows += [
        center(rng.choice(["九龍佐敦白加士街47號", "香港上環永樂街88號", "九龍油麻地廟街63號"]), "s"),
        center(f"電話 Tel {rng.randint(2300, 2899)} {rng.randint(1000, 9999)}", "s"),
        DASHES,
    ]
    rows.append(split(f"枱號 {rng.randint(1, 40)}", f"人數 {rng.randint(1, 6)}"))
    rows.append(
        split(
            f"單號 {rng.randint(100000, 999999)}",
            f"{fmt_date(d, rng.choice(['dmy', 'cjk', 'iso']))} {fmt_time(t, rng.choice(['24h', 'sec']))}",
        )
    )
    rows.append(DASHES)
    items = []
    for _ in range(rng.randint(2, 6)):
        dish, lo, hi = rng.choice(menu)
        qty = rng.choice([1, 1, 1, 2])
        amount = q(price(rng, lo, hi, "1") * qty)
        items.append(amount)
        rows.append(split(dish, f"x{qty}", money(amount)))
    subtotal = sum(items, Decimal(0))
    service = q(subtotal / 10) if rng.random() < 0.8 else Decimal(0)
    total = subtotal + service
    rows.append(DASHES)
    rows.append(split(pick_label(rng, lang, ["小計", "小計"], ["Sub-Total"]), money(subtotal, mk)))
    if service:
        rows.append(split(pick_label(rng, lang, ["加一服務費", "加一", "服務費 10%"], ["S/C 10%"]), money(service, mk)))
    total_label = pick_label(rng, lang, ["合計", "總計", "應付", "總數"], ["TOTAL", "Amount"])
    rows.append(split(total_label, money(total, mk), size="l"))
    amounts = {"subtotal": subtotal, "service": service, "total": total}
    pay = rng.choice(["cash", "cash", "octopus", "octopus", "visa"])
    if pay == "cash":
        tendered = tendered_for(rng, total)
        rows.append(split(pick_label(rng, lang, ["現金", "收現"], ["Cash"]), money(tendered, mk)))
        rows.append(split(pick_label(rng, lang, ["找續", "找贖", "找零"], ["Change"]), money(tendered - total, mk)))
        amounts |= {"tendered": tendered, "change": tendered - total}
    elif pay == "octopus":
        remaining = price(rng, 5, 900)
        rows.append(split(pick_label(rng, lang, ["八達通", "八達通付款"], ["Octopus"]), money(total, mk)))
        rows.append(split(f"八達通號碼 {rng.randint(10000000, 99999999)}", ""))
        rows.append(split(pick_label(rng, lang, ["餘額", "八達通餘額"], ["Remaining Value"]), money(remaining, mk)))
    else:
        rows.append(split("VISA", money(total, mk)))
    rows += [DASHES, center(rng.choice(["多謝光臨 歡迎再來", "謝謝惠顧", "加一服務費已包括在內"]), "s")]
    vendor = f"{name[0]} {name[1]}" if name[1] and lang == "both" else name[0]
    return Printed(
        "cha_chaan_teng", rows, vendor, d, total, "HKD", None, amounts, "hant", rng.choice([384, 448, 512]), (0.72,)
    )


def supermarket(rng: random.Random) -> Printed:
    """HK supermarket: qty × unit price, member discounts and 優惠, Octopus remaining value or 實收/找贖 cash."""
    name = rng.choice(
        [
            ("佳鮮超級市場", "FRESHMART"),
            ("百樂超市", "BAILOK SUPERMARKET"),
            ("東海便利店", "EAST SEA STORE"),
            ("萬家百貨", "MAN KA MART"),
        ]
    )
    lang = rng.choice(["zh", "both", "both"])
    d, t = random_date(rng), random_time(rng)
    goods = [
        ("出前一丁麻油味5包", 16, 26),
        ("維他檸檬茶6包", 18, 28),
        ("鮮奶 2L", 28, 42),
        ("白米 5kg", 58, 95),
        ("洗潔精", 12, 25),
        ("雞蛋 10隻", 22, 35),
        ("麵包", 13, 19),
        ("廁紙 10卷", 45, 80),
        ("橙汁 1L", 22, 32),
        ("薯片", 9, 16),
        ("即食麵碗", 8, 14),
        ("豉油", 15, 28),
    ]
    mk = rng.choice(["$", "HK$", "HKD"])
    rows = [center(name[0], "xl")]
    if lang == "both":
        rows.append(center(name[1], "l"))
    rows += [
        center(rng.choice(["新界沙田正街12號", "香港北角英皇道500號", "九龍觀塘道88號"]), "s"),
        split(f"店號 {rng.randint(100, 999)}", f"收銀機 {rng.randint(1, 12)}", size="s"),
        RULE,
    ]
    stamp = split(f"{fmt_date(d, rng.choice(['dmy', 'iso', 'dot']))}", fmt_time(t, "24h"))
    date_at_foot = rng.random() < 0.4  # many HK tills print the date and time under the payment
    if not date_at_foot:
        rows.insert(-1, stamp)
    lines: list[Decimal] = []
    promo = Decimal(0)
    for _ in range(rng.randint(3, 9)):
        item, lo, hi = rng.choice(goods)
        qty = rng.choice([1, 1, 2, 3])
        unit = price(rng, lo, hi)
        amount = q(unit * qty)
        lines.append(amount)
        rows.append(left(item))
        rows.append(split(f"  {rng.randint(10**11, 10**12 - 1)}", f"{qty} x {unit:.2f}", money(amount), size="s"))
        if rng.random() < 0.2:
            off = q(amount * Decimal(rng.choice(["0.1", "0.2"])))
            promo += off
            rows.append(split(f"  {pick_label(rng, lang, ['優惠', '推廣優惠'], ['Promotion'])}", money(-off)))
    subtotal = sum(lines, Decimal(0))
    member = q((subtotal - promo) * Decimal("0.05")) if rng.random() < 0.6 else Decimal(0)
    discount = promo + member
    total = subtotal - discount
    rows.append(RULE)
    rows.append(split(pick_label(rng, lang, ["件數"], ["Items"]) + f" {len(lines)}", ""))
    rows.append(split(pick_label(rng, lang, ["小計", "貨品總值"], ["Subtotal"]), money(subtotal, mk)))
    if promo:
        rows.append(split(pick_label(rng, lang, ["優惠總額"], ["Promotion Total"]), money(-promo, mk)))
    if member:
        rows.append(split(pick_label(rng, lang, ["會員折扣 5%", "會員優惠"], ["Member Disc."]), money(-member, mk)))
    amounts = {"subtotal": subtotal, "discount": discount, "total": total}
    pay = rng.choice(["octopus", "octopus", "cash"])
    if pay == "cash":
        rows.append(
            split(pick_label(rng, lang, ["總數", "總計", "應付"], ["TOTAL", "Net Amount"]), money(total, mk), size="l")
        )
        tendered = tendered_for(rng, total)
        rows.append(split(pick_label(rng, lang, ["實收", "現金"], ["CASH"]), money(tendered, mk)))
        rows.append(split(pick_label(rng, lang, ["找贖", "找續"], ["CHANGE"]), money(tendered - total, mk)))
        amounts |= {"tendered": tendered, "change": tendered - total}
    else:
        rows.append(
            split(
                pick_label(rng, lang, ["總數", "合計", "應付金額"], ["TOTAL", "Amount Due"]), money(total, mk), size="l"
            )
        )
        remaining = price(rng, 3, 1000)
        rows.append(split(pick_label(rng, lang, ["八達通付款"], ["Octopus"]), money(total, mk)))
        rows.append(split(f"八達通號碼 {rng.randint(10000000, 99999999)}({rng.randint(1, 9)})", ""))
        if rng.random() < 0.5:
            rows.append(split(pick_label(rng, lang, ["交易前餘額"], ["Previous Value"]), money(remaining + total, mk)))
        rows.append(split(pick_label(rng, lang, ["八達通餘額", "餘額"], ["Remaining Value"]), money(remaining, mk)))
    if member:
        rows.append(left(f"會員號碼 ****{rng.randint(1000, 9999)}  今次節省 {money(discount, mk)}"))
    rows += [RULE, *([stamp] if date_at_foot else [])]
    rows += [center(rng.choice(["請保留收據以便退換", "多謝惠顧", "THANK YOU FOR SHOPPING"]), "s")]
    vendor = f"{name[0]} {name[1]}" if lang == "both" else name[0]
    return Printed(
        "supermarket", rows, vendor, d, total, "HKD", None, amounts, "hant", rng.choice([448, 512, 576]), (0.62,)
    )


def taxi(rng: random.Random) -> Printed:
    """Taxi meter receipt: fare plus tunnel toll, baggage and surcharges; licence no., pick-up and drop-off."""
    title = rng.choice([("市區的士", "URBAN TAXI"), ("新界的士", "NT TAXI"), ("的士", "TAXI")])
    lang = rng.choice(["both", "both", "zh"])
    d = random_date(rng)
    start = random_time(rng)
    end = (datetime.datetime.combine(d, start) + datetime.timedelta(minutes=rng.randint(6, 50))).time()
    fare = q(Decimal(27) + Decimal(rng.randint(0, 300)) / 10 * 2)
    extras: list[tuple[list[str], list[str], Decimal]] = []
    if rng.random() < 0.6:
        extras.append((["隧道費", "隧道/橋費"], ["Tunnel Toll", "TUNNEL"], Decimal(rng.choice([8, 20, 25, 30, 50]))))
    if rng.random() < 0.4:
        extras.append((["行李"], ["Baggage"], Decimal(6 * rng.randint(1, 3))))
    if rng.random() < 0.3:
        extras.append((["附加費"], ["Surcharge"], Decimal(rng.choice([5, 6, 10]))))
    surcharges = sum((e[2] for e in extras), Decimal(0))
    total = fare + surcharges
    mk = rng.choice(["$", "HK$", ""])
    rows = [center(pick_label(rng, lang, [f"{title[0]}收據"], [f"{title[1]} RECEIPT"]), "l")]
    if lang == "both":
        rows = [center(title[0], "xl"), center(title[1], "l")]
    rows += [
        DASHES,
        split(
            pick_label(rng, lang, ["車牌號碼"], ["LICENCE NO."]),
            f"{rng.choice('ABCDEFGHJKLMN')}{rng.choice('ABCDEFGHJKLMN')}{rng.randint(1000, 9999)}",
        ),
        split(pick_label(rng, lang, ["日期"], ["DATE"]), fmt_date(d, rng.choice(["dmy", "dmon2", "iso", "cjk"]))),
        split(pick_label(rng, lang, ["上車時間"], ["START"]), fmt_time(start, "24h")),
        split(pick_label(rng, lang, ["落車時間"], ["END"]), fmt_time(end, "24h")),
        split(pick_label(rng, lang, ["里數"], ["DISTANCE"]), f"{rng.randint(15, 350) / 10:.1f} KM"),
        split(pick_label(rng, lang, ["等候時間"], ["WAITING"]), f"{rng.randint(0, 9)}:{rng.randint(0, 59):02d}"),
        DASHES,
        split(pick_label(rng, lang, ["車資", "咪錶收費"], ["FARE"]), money(fare, mk)),
    ]
    for zh, en, amount in extras:
        rows.append(split(pick_label(rng, lang, zh, en), money(amount, mk)))
    rows.append(
        split(pick_label(rng, lang, ["總數", "合共", "應付"], ["TOTAL", "TOTAL FARE"]), money(total, mk), size="l")
    )
    rows += [
        DASHES,
        split(pick_label(rng, lang, ["司機編號"], ["DRIVER"]), str(rng.randint(100000, 999999)), size="s"),
        center(rng.choice(["多謝乘搭 THANK YOU", "失物請致電 2527 7177", "請保留收據"]), "s"),
    ]
    vendor = f"{title[0]} {title[1]}" if lang == "both" else f"{title[0]}收據"
    return Printed(
        "taxi",
        rows,
        vendor,
        d,
        total,
        "HKD",
        None,
        {"subtotal": fare, "surcharges": surcharges, "total": total},
        "hant",
        rng.choice([384, 416, 448]),
    )


def hotel_folio(rng: random.Random) -> Printed:
    """Hotel folio: room nights in HKD, an item charged in USD or JPY at a rate, payments, balance 0.00."""
    name = rng.choice(
        [("海景酒店", "HARBOURVIEW HOTEL"), ("維港灣酒店", "VICTORIA BAY HOTEL"), ("九龍珀居", "KOWLOON PEARL SUITES")]
    )
    lang = rng.choice(["en", "both"])
    nights = rng.randint(1, 4)
    depart = random_date(rng) + datetime.timedelta(days=5)
    arrive = depart - datetime.timedelta(days=nights)
    ds = rng.choice(["dmy", "dmon2", "iso", "dmon"])
    rate = price(rng, 880, 2600, "10")
    rows = [center(name[1], "xl")]
    if lang == "both":
        rows.append(center(name[0], "l"))
    rows += [
        center("18 Salisbury Road, Tsim Sha Tsui, Kowloon, Hong Kong", "s"),
        RULE,
        center(pick_label(rng, lang, ["賬單"], ["GUEST FOLIO", "INFORMATION INVOICE"]), "l"),
        split(pick_label(rng, lang, ["房號"], ["Room No."]), str(rng.randint(801, 3620))),
        split(pick_label(rng, lang, ["抵店"], ["Arrival"]), fmt_date(arrive, ds)),
        split(pick_label(rng, lang, ["離店"], ["Departure"]), fmt_date(depart, ds)),
        split(pick_label(rng, lang, ["賬單號碼"], ["Folio No."]), str(rng.randint(100000, 999999))),
        split(pick_label(rng, lang, ["日期"], ["Date"]), fmt_date(depart, ds)),
        RULE,
        split("Date", "Description", "HKD"),
        RULE,
    ]
    charges: list[Decimal] = []
    for n in range(nights):
        charges.append(rate)
        rows.append(split(fmt_date(arrive + datetime.timedelta(days=n), ds), "Room Charge", money(rate)))
    if rng.random() < 0.6:
        mini = price(rng, 60, 420, "1")
        charges.append(mini)
        rows.append(split(fmt_date(depart - datetime.timedelta(days=1), ds), "Mini Bar", money(mini)))
    foreign_cur, fx = rng.choice([("USD", Decimal("7.78")), ("JPY", Decimal("0.0518")), ("USD", Decimal("7.81"))])
    foreign = price(rng, 20, 180, "1") if foreign_cur == "USD" else price(rng, 2000, 18000, "100")
    converted = q(foreign * fx)
    charges.append(converted)
    what = rng.choice(["Airport Limousine", "Spa", "Tour Desk"])
    rows.append(
        split(
            fmt_date(depart - datetime.timedelta(days=1), ds),
            f"{what} {foreign_cur} {foreign:,.2f} @ {fx}",
            money(converted),
        )
    )
    subtotal = sum(charges, Decimal(0))
    service = q(subtotal / 10) if rng.random() < 0.6 else Decimal(0)
    tax = q((subtotal + service) * Decimal("0.03")) if rng.random() < 0.4 else None
    if service:
        rows.append(split("", "Service Charge 10%", money(service)))
    if tax is not None:
        rows.append(split("", "Hotel Accommodation Tax 3%", money(tax)))
    total = subtotal + service + (tax or Decimal(0))
    rows.append(RULE)
    rows.append(
        split(
            pick_label(rng, lang, ["總額"], ["Total Charges", "Total", "Total Amount"]),
            money(total, rng.choice(["HKD", "HK$", ""])),
            size="l",
        )
    )
    deposit = q(total * Decimal(rng.choice(["0.3", "0.5"]))) if rng.random() < 0.4 else Decimal(0)
    card = rng.choice(["VISA", "MASTERCARD", "AMEX"])
    if deposit:
        rows.append(split(fmt_date(arrive, ds), "Deposit " + card, money(-deposit)))
    settled = total - deposit
    rows.append(split(fmt_date(depart, ds), f"{card} XXXX{rng.randint(1000, 9999)}", money(-settled)))
    rows.append(split(pick_label(rng, lang, ["結餘"], ["Balance", "Balance Due"]), "0.00", size="l"))
    rows += [RULE, center("Thank you for staying with us", "s")]
    vendor = f"{name[1]} {name[0]}" if lang == "both" else name[1]
    amounts = {"subtotal": subtotal, "service": service, "total": total, "payments": deposit + settled}
    if tax is not None:
        amounts["tax"] = tax
    return Printed(
        "hotel_folio", rows, vendor, depart, total, "HKD", tax, amounts, "hant", rng.choice([900, 1000, 1100]), (0.24,)
    )


def vat_fapiao(rng: random.Random) -> Printed:
    """Mainland 增值税发票 (简体, CNY): 金额 / 税率 / 税额, 价税合计 in 大写 capitals and 小写 ¥."""
    seller = rng.choice(
        ["深圳市华联商贸有限公司", "广州天河酒店管理有限公司", "上海浦江餐饮有限公司", "北京中关村科技服务有限公司"]
    )
    d = random_date(rng)
    tax_rate = rng.choice([Decimal("0.06"), Decimal("0.13"), Decimal("0.09"), Decimal("0.03")])
    goods = [
        "*餐饮服务*餐费",
        "*住宿服务*住宿费",
        "*信息技术服务*技术服务费",
        "*办公用品*打印纸",
        "*运输服务*客运服务费",
    ]
    rows = [
        center(rng.choice(["广东增值税电子普通发票", "增值税普通发票", "电子发票（普通发票）"]), "xl"),
        split(f"发票代码: {rng.randint(10**11, 10**12 - 1)}", f"发票号码: {rng.randint(10**7, 10**8 - 1)}"),
        split(f"开票日期: {fmt_date(d, rng.choice(['cjk0', 'cjk']))}", f"校验码: {rng.randint(10**9, 10**10 - 1)}"),
        RULE,
        left("购买方 名称: 香港报销测试有限公司"),
        left(f"纳税人识别号: 91440300{rng.randint(10**9, 10**10 - 1)}"),
        RULE,
        split("项目名称", "数量", "单价", "金额", "税率", "税额", size="s"),
    ]
    net_lines, tax_lines = [], []
    for _ in range(rng.randint(1, 3)):
        qty = rng.randint(1, 5)
        unit = price(rng, 30, 900)
        net = q(unit * qty)
        tax = q(net * tax_rate)
        net_lines.append(net)
        tax_lines.append(tax)
        rows.append(
            split(
                rng.choice(goods),
                str(qty),
                f"{unit:.2f}",
                f"{net:.2f}",
                f"{int(tax_rate * 100)}%",
                f"{tax:.2f}",
                size="s",
            )
        )
    net, tax = sum(net_lines, Decimal(0)), sum(tax_lines, Decimal(0))
    total = net + tax
    yen = rng.choice(["¥", "￥", "RMB"])
    rows += [
        RULE,
        split("合  计", "", "", money(net, yen, commas=False), "", money(tax, yen, commas=False)),
        split(f"价税合计(大写)  ⊗{cny_capitals(total)}", f"(小写) {money(total, yen, commas=False)}", size="l"),
        RULE,
        left(f"销售方 名称: {seller}"),
        left(f"纳税人识别号: 91{rng.randint(10**15, 10**16 - 1)}"),
        left("地址、电话: " + rng.choice(["深圳市福田区深南大道1001号", "广州市天河区体育西路88号"])),
        split(
            f"收款人: {rng.choice(['王芳', '李强'])}",
            f"复核: {rng.choice(['张伟', '刘洋'])}",
            f"开票人: {rng.choice(['陈静', '赵磊'])}",
            size="s",
        ),
    ]
    return Printed(
        "vat_fapiao",
        rows,
        seller,
        d,
        total,
        "CNY",
        tax,
        {"subtotal": net, "tax": tax, "total": total},
        "hans",
        rng.choice([1100, 1200]),
        (0.45, 0.58, 0.72, 0.84),
    )


def macau(rng: random.Random) -> Printed:
    """Macau restaurant in MOP with the HKD equivalent printed (the claim is in MOP)."""
    name = rng.choice(
        [
            ("澳門亞利茶餐廳", "ALI CAFE MACAU"),
            ("新馬路葡國餐廳", "SAN MA LO PORTUGUESE"),
            ("氹仔官也街餅家", "TAIPA BAKERY"),
        ]
    )
    lang = rng.choice(["zh", "both"])
    d, t = random_date(rng), random_time(rng)
    mk = rng.choice(["MOP$", "MOP", "$"])
    rows = [center(name[0], "xl")]
    if lang == "both":
        rows.append(center(name[1], "l"))
    rows += [
        center(rng.choice(["澳門新馬路12號地下", "澳門氹仔官也街25號"]), "s"),
        split(f"日期 {fmt_date(d, rng.choice(['dmy', 'iso', 'cjk']))}", fmt_time(t, rng.choice(["24h", "12h"]))),
        split(f"單號 M{rng.randint(10000, 99999)}", f"枱 {rng.randint(1, 30)}"),
        DASHES,
    ]
    items = []
    for dish in rng.sample(
        ["葡國雞", "馬介休球", "咖喱蟹", "豬扒包", "葡撻", "非洲雞", "蛋撻", "奶茶"], rng.randint(2, 5)
    ):
        amount = price(rng, 12, 180, "1")
        items.append(amount)
        rows.append(split(dish, money(amount)))
    subtotal = sum(items, Decimal(0))
    service = q(subtotal / 10) if rng.random() < 0.5 else Decimal(0)
    total = subtotal + service
    rows.append(DASHES)
    if service:
        rows.append(split(pick_label(rng, lang, ["小計"], ["Subtotal"]), money(subtotal, mk)))
        rows.append(split(pick_label(rng, lang, ["服務費 10%"], ["Service 10%"]), money(service, mk)))
    rows.append(split(pick_label(rng, lang, ["總計", "合計", "應付"], ["TOTAL"]), money(total, mk), size="l"))
    hkd = q(total / Decimal("1.03"))
    rows.append(split(rng.choice(["約港幣 HKD", "港幣參考 HK$", "HKD equiv."]), money(hkd)))
    amounts = {"subtotal": subtotal, "service": service, "total": total, "hkd_equivalent": hkd}
    if rng.random() < 0.5:
        tendered = tendered_for(rng, total)
        rows.append(split(pick_label(rng, lang, ["現金 澳門元"], ["Cash MOP"]), money(tendered, mk)))
        rows.append(split(pick_label(rng, lang, ["找續"], ["Change"]), money(tendered - total, mk)))
        amounts |= {"tendered": tendered, "change": tendered - total}
    else:
        rows.append(split(rng.choice(["澳門通 MACAU PASS", "VISA", "中銀卡"]), money(total, mk)))
    rows += [DASHES, center("澳門 MACAU  多謝光臨", "s")]
    vendor = f"{name[0]} {name[1]}" if lang == "both" else name[0]
    return Printed("macau", rows, vendor, d, total, "MOP", None, amounts, "hant", rng.choice([448, 512]))


def western(rng: random.Random) -> Printed:
    """English-only western receipt: Amount Due, then a tip, the card total and the amount tendered."""
    us = rng.random() < 0.35
    name = rng.choice(["THE CORNER BISTRO", "BLUE DOOR DINER", "SOHO GRILL & BAR", "LITTLE ITALY TRATTORIA"])
    d, t = random_date(rng), random_time(rng)
    mk = "US$" if us else rng.choice(["HK$", "$", "HKD"])
    rows = [
        center(name, "xl"),
        center("212 Mulberry St, New York, NY" if us else "G/F, 28 Elgin Street, Central, Hong Kong", "s"),
        center(
            f"Tel: {'(212) 555-' + str(rng.randint(1000, 9999)) if us else '2810 ' + str(rng.randint(1000, 9999))}", "s"
        ),
        DASHES,
        split(f"Server: {rng.choice(['ANNA', 'JOE', 'KELLY', 'RAJ'])}", f"Check #{rng.randint(1000, 9999)}"),
        split(f"Table {rng.randint(1, 40)}", f"Guests {rng.randint(1, 6)}"),
        DASHES,
    ]
    items = []
    for dish in rng.sample(
        [
            "Caesar Salad",
            "Ribeye Steak",
            "Fish & Chips",
            "Burger",
            "Pasta Vongole",
            "Tiramisu",
            "Espresso",
            "Draft Beer",
            "House Red",
            "Fries",
        ],
        rng.randint(2, 6),
    ):
        qty = rng.choice([1, 1, 2])
        amount = q(price(rng, 4, 40, "0.25") * qty) if us else q(price(rng, 40, 320, "1") * qty)
        items.append(amount)
        rows.append(split(f"{qty} {dish}", money(amount)))
    subtotal = sum(items, Decimal(0))
    service = Decimal(0) if us else (q(subtotal / 10) if rng.random() < 0.7 else Decimal(0))
    tax = q(subtotal * Decimal("0.08875")) if us else None
    due = subtotal + service + (tax or Decimal(0))
    rows += [DASHES, split("Subtotal", money(subtotal, mk))]
    if service:
        rows.append(split("Service Charge 10%", money(service, mk)))
    if tax is not None:
        rows.append(split(rng.choice(["Sales Tax", "Tax 8.875%", "NYC Tax"]), money(tax, mk)))
    rows.append(split(rng.choice(["Amount Due", "Balance Due", "AMOUNT DUE"]), money(due, mk), size="l"))
    tip = Decimal(0)
    if rng.random() < 0.6:
        tip = q(due * Decimal(rng.choice(["0.10", "0.15", "0.18", "0.20"])))
        rows.append(split("Tip", money(tip, mk)))
    total = due + tip
    if tip:
        rows.append(split(rng.choice(["Total", "TOTAL", "Grand Total"]), money(total, mk), size="l"))
    card = rng.choice(["Visa", "Mastercard", "Amex"])
    rows.append(split(f"{card} tendered", money(total, mk)))
    rows.append(split(f"{card} XXXXXXXXXXXX{rng.randint(1000, 9999)}", ""))
    rows.append(split("Change", money(Decimal(0), mk)))
    rows += [DASHES, center(rng.choice(["Thank you! Please come again", "We hope to see you soon"]), "s")]
    stamp = split(
        fmt_date(d, "mdy_en" if us else rng.choice(["dmon", "dmy", "dmon2", "iso"])),
        fmt_time(t, rng.choice(["12h", "24h"])),
    )
    rows.insert(5 if rng.random() < 0.6 else len(rows), stamp)  # in the header, or printed at the very end
    amounts = {
        "subtotal": subtotal,
        "service": service,
        "tip": tip,
        "total": total,
        "tendered": total,
        "change": Decimal(0),
    }
    if tax is not None:
        amounts["tax"] = tax
    return Printed(
        "western", rows, name, d, total, "USD" if us else "HKD", tax, amounts, "latin", rng.choice([384, 480, 576])
    )


LAYOUTS: dict[str, Callable[[random.Random], Printed]] = {
    "cha_chaan_teng": cha_chaan_teng,
    "supermarket": supermarket,
    "taxi": taxi,
    "hotel_folio": hotel_folio,
    "vat_fapiao": vat_fapiao,
    "macau": macau,
    "western": western,
}


# ----------------------------------------------------------------------------------------------------------
# typefaces and the renderer

#: (file name, face index in a .ttc, scripts it prints). Noto CJK first: the other generator draws with WenQuanYi
#: and AR PL, so these faces are new to the reader; the HK/TC faces use Hong Kong glyph forms.
FACES = (
    ("NotoSansCJK-Regular.ttc", 4, {"hant", "latin"}),
    ("NotoSansCJK-Regular.ttc", 3, {"hant", "latin"}),
    ("NotoSerifCJK-Regular.ttc", 3, {"hant", "latin"}),
    ("NotoSansCJK-Regular.ttc", 9, {"hant", "latin"}),
    ("NotoSansCJK-Regular.ttc", 2, {"hans", "latin"}),
    ("NotoSerifCJK-Regular.ttc", 2, {"hans", "latin"}),
    ("NotoSansCJK-Regular.ttc", 7, {"hans", "latin"}),
    ("wqy-microhei.ttc", 0, {"hant", "hans", "latin"}),
    ("DejaVuSansMono.ttf", 0, {"latin"}),
    ("LiberationMono-Regular.ttf", 0, {"latin"}),
    ("LiberationSansNarrow-Regular.ttf", 0, {"latin"}),
)
FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
_found: dict[str, Path | None] = {}


def faces_for(script: str) -> list[tuple[Path, int]]:
    """Installed faces that can print ``script``; raises ``NoFontError`` naming the Debian package if none."""
    out = []
    for name, index, scripts in FACES:
        if script not in scripts:
            continue
        if name not in _found:
            _found[name] = next((p for root in FONT_ROOTS if root.is_dir() for p in root.rglob(name)), None)
        if _found[name] is not None:
            out.append((_found[name], index))
    if not out:
        raise NoFontError(f"no font for {script} text: install fonts-noto-cjk (requirements-system.txt)")
    return out


#: Cells right-aligned on their column stop (quantities, prices, rates); other middle cells start at it.
NUMERIC_CELL = re.compile(r"^[-+]?[\dx×@ .,%$¥￥]+$")
SIZES = {"s": 0.8, "m": 1.0, "l": 1.2, "xl": 1.45}


def render(printed: Printed, face: tuple[Path, int], *, base: int | None = None) -> Image.Image:
    """Draw the rows on white paper. Cells that would overlap are shrunk to fit rather than clipped."""
    width = printed.width
    base = base or max(18, width // 22 if width < 800 else width // 44)
    margin = max(14, width // 28)
    inner = width - 2 * margin
    cache: dict[int, ImageFont.FreeTypeFont] = {}

    def font(px: int) -> ImageFont.FreeTypeFont:
        if px not in cache:
            cache[px] = ImageFont.truetype(str(face[0]), px, index=face[1])
        return cache[px]

    def fit(row: Row, px: int) -> int:
        probe = ImageDraw.Draw(Image.new("L", (1, 1)))
        while px > 10:
            f = font(px)
            total = sum(probe.textlength(c, font=f) for c in row.cells if c) + px * max(0, len(row.cells) - 1)
            if total <= inner:
                break
            px -= 1
        return px

    sized = [(row, fit(row, int(base * SIZES[row.size]))) for row in printed.rows]
    heights = [int(px * 1.45) if row.align not in ("rule", "dashes") else base for row, px in sized]
    img = Image.new("L", (width, sum(heights) + 2 * margin), 255)
    draw = ImageDraw.Draw(img)
    y = margin
    for (row, px), h in zip(sized, heights, strict=True):
        f = font(px)
        if row.align == "rule":
            draw.line((margin, y + h // 2, width - margin, y + h // 2), fill=0, width=2)
        elif row.align == "dashes":
            for x in range(margin, width - margin, 14):
                draw.line((x, y + h // 2, x + 7, y + h // 2), fill=0, width=2)
        elif row.align == "split" and len(row.cells) > 1:
            draw.text((margin, y), row.cells[0], font=f, fill=0)
            last = row.cells[-1]
            draw.text((width - margin - draw.textlength(last, font=f), y), last, font=f, fill=0)
            middle = row.cells[1:-1]
            stops = printed.columns if len(printed.columns) == len(middle) else ()
            for i, cell in enumerate(middle):
                stop = margin + inner * (stops[i] if stops else (i + 1) / (len(middle) + 1) + 0.15)
                numeric = NUMERIC_CELL.match(cell) is not None
                draw.text((stop - draw.textlength(cell, font=f) if numeric else stop, y), cell, font=f, fill=0)
        else:
            text = "  ".join(row.cells)
            w = draw.textlength(text, font=f)
            x = {"center": (width - w) / 2, "right": width - margin - w}.get(row.align, margin)
            draw.text((x, y), text, font=f, fill=0)
        y += h
    return img.convert("RGB")


# ----------------------------------------------------------------------------------------------------------
# degradations


def seeded_noise(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Uniform grey noise from ``rng`` (``Image.effect_noise`` draws from C's rand, so a seed would not
    reproduce it)."""
    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))


def scan_noise(img: Image.Image, rng: random.Random) -> Image.Image:
    """A flatbed scan or fax of the slip: grey paper, sensor noise, speckle, soft focus, a small skew."""
    w, h = img.size
    grey = img.convert("L").point(lambda v: int(rng.uniform(20, 50) + v * rng.uniform(0.7, 0.85)))
    noise = seeded_noise((w, h), rng)
    grey = Image.blend(grey, noise, rng.uniform(0.08, 0.18))
    draw = ImageDraw.Draw(grey)
    for _ in range(w * h // 1500):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.choice([0, 0, 1])
        draw.ellipse((x, y, x + r, y + r), fill=rng.choice([0, 60, 255]))
    grey = grey.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.1)))
    return grey.rotate(
        rng.uniform(-2.0, 2.0), resample=Image.Resampling.BILINEAR, expand=True, fillcolor=rng.randint(200, 245)
    ).convert("RGB")


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8×8 for a perspective map; no numpy in the venv)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    """PIL's PERSPECTIVE data mapping output points ``dst`` back to input points ``src``."""
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    return _solve(a, b)


def curl(img: Image.Image, depth: float, fill: tuple[int, int, int]) -> Image.Image:
    """Bow the rows like a slip that curls across its width: printed lines become arcs ``depth`` px deep."""
    w, h = img.size
    strip = 16
    mesh = []
    for x0 in range(0, w, strip):
        x1 = min(w, x0 + strip)
        d0, d1 = depth * math.sin(math.pi * x0 / w), depth * math.sin(math.pi * x1 / w)
        mesh.append(((x0, 0, x1, h), (x0, -d0, x0, h - d0, x1, h - d1, x1, -d1)))
    return img.transform(img.size, Image.Transform.MESH, mesh, Image.Resampling.BICUBIC, fillcolor=fill)


def desk_photo(img: Image.Image, rng: random.Random) -> Image.Image:
    """The slip on a desk shot by a phone: background around it, perspective, sometimes a curl and a glare, a
    light gradient and a soft shadow, warm paper, a lower resolution."""
    w, h = img.size
    paper = img.convert("L").point(lambda v: int(25 + v * 0.86))
    paper = Image.merge("RGB", [paper.point(lambda v, k=k: min(255, int(v * k))) for k in (1.0, 0.98, 0.93)])
    pad_x, pad_y = int(w * rng.uniform(0.15, 0.35)), int(h * rng.uniform(0.06, 0.15))
    cw, ch = w + 2 * pad_x, h + 2 * pad_y
    desk_rgb = rng.choice([(120, 86, 60), (70, 72, 78), (150, 140, 120), (40, 44, 52)])
    texture = seeded_noise((max(8, cw // 40), max(8, ch // 40)), rng).resize((cw, ch), Image.Resampling.BICUBIC)
    desk = Image.merge("RGB", [texture.point(lambda v, c=c: max(0, min(255, c + (v - 128) // 3))) for c in desk_rgb])
    desk.paste(paper, (pad_x, pad_y))
    jitter = [(rng.uniform(-0.07, 0.07) * cw, rng.uniform(-0.05, 0.05) * ch) for _ in range(4)]
    corners = [(0, 0), (cw, 0), (cw, ch), (0, ch)]
    dst = [
        (x + max(0.0, jx) if x == 0 else x - max(0.0, -jx), y + max(0.0, jy) if y == 0 else y - max(0.0, -jy))
        for (x, y), (jx, jy) in zip(corners, jitter, strict=True)
    ]
    coeffs = perspective_coeffs(corners, dst)
    warped = desk.transform((cw, ch), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=desk_rgb)
    if rng.random() < 0.5:
        warped = curl(warped, rng.uniform(0.01, 0.035) * cw, desk_rgb)
    turned = Image.linear_gradient("L").rotate(rng.uniform(0, 360), Image.Resampling.BICUBIC, expand=True)
    c = turned.width // 2
    light = turned.crop((c - 90, c - 90, c + 90, c + 90)).resize((cw, ch), Image.Resampling.BICUBIC)
    light = light.point(lambda v, lo=rng.uniform(0.55, 0.8): int(255 * (lo + (1 - lo) * v / 255)))
    shadow = Image.new("L", (cw, ch), 255)
    if rng.random() < 0.7:
        x0 = rng.uniform(-0.3, 0.6) * cw
        ImageDraw.Draw(shadow).polygon(
            [
                (x0, -10),
                (x0 + cw * rng.uniform(0.3, 0.6), -10),
                (x0 + cw * rng.uniform(0.1, 0.5), ch + 10),
                (x0 - cw * 0.2, ch + 10),
            ],
            fill=rng.randint(150, 200),
        )
        shadow = shadow.filter(ImageFilter.GaussianBlur(cw / 25))
    lit = ImageChops.multiply(warped, Image.merge("RGB", [ImageChops.multiply(light, shadow)] * 3))
    if rng.random() < 0.3:  # glare from a ceiling light on glossy thermal paper
        glare = Image.new("L", (cw, ch), 0)
        gx, gy, r = rng.uniform(0.2, 0.8) * cw, rng.uniform(0.2, 0.8) * ch, rng.uniform(0.08, 0.2) * cw
        ImageDraw.Draw(glare).ellipse((gx - r, gy - r * 0.6, gx + r, gy + r * 0.6), fill=rng.randint(70, 140))
        lit = ImageChops.add(lit, Image.merge("RGB", [glare.filter(ImageFilter.GaussianBlur(r / 2))] * 3))
    scale = rng.uniform(1500, 1900) / max(cw, ch)
    lit = lit.resize((int(cw * scale), int(ch * scale)), Image.Resampling.BILINEAR)
    return lit.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))


#: EXIF Orientation → the transpose that stores an upright image so that a viewer applying the tag sees it
#: upright again (ImageOps.exif_transpose applies the inverse).
STORE_TURNED = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


# ----------------------------------------------------------------------------------------------------------
# generation


def make(layout: str, seed: int, index: int = 0) -> Printed:
    """Receipt ``index`` of ``seed`` in ``layout``: the same arguments always print the same receipt."""
    return LAYOUTS[layout](random.Random(f"{layout}:{seed}:{index}"))


def write_one(
    out: Path, name: str, printed: Printed, variant: str, rng: random.Random, orientation: int | None = None
) -> Path:
    """Render, degrade, save the image and the truth JSON; returns the image path. ``orientation`` overrides
    the EXIF orientation a photo would draw (tests)."""
    faces = faces_for(printed.script)
    img = render(printed, rng.choice(faces))
    truth = printed.truth(variant)
    if variant == "clean":
        path = out / f"{name}.png"
        img.save(path, format="PNG")
    elif variant == "noisy":
        path = out / f"{name}.jpg"
        scan_noise(img, rng).save(path, format="JPEG", quality=rng.randint(45, 80))
    elif variant == "photo":
        path = out / f"{name}.jpg"
        photo = desk_photo(img, rng)
        drawn = rng.choice([1, 1, 1, 6, 8, 3])
        orientation = orientation or drawn
        truth["exif_orientation"] = orientation
        if orientation == 1:
            photo.save(path, format="JPEG", quality=rng.randint(70, 90))
        else:
            exif = Image.Exif()
            exif[EXIF_ORIENTATION_TAG] = orientation
            photo.transpose(STORE_TURNED[orientation]).save(
                path, format="JPEG", quality=rng.randint(70, 90), exif=exif.tobytes()
            )
    else:
        raise ValueError(f"unknown variant {variant!r} (expected one of {', '.join(VARIANTS)})")
    (out / f"{name}.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def generate(out: Path, count: int, seed: int, variant: str, layout: str | None = None) -> list[Path]:
    """``count`` receipts into ``out``, layouts in turn (or only ``layout``); the same seed writes the same files."""
    if layout is not None and layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r} (expected one of {', '.join(LAYOUTS)})")
    out.mkdir(parents=True, exist_ok=True)
    names = [layout] if layout else list(LAYOUTS)
    return [write_seeded(out, names[(seed + i) % len(names)], seed, i, variant) for i in range(count)]


def write_seeded(out: Path, layout: str, seed: int, index: int, variant: str) -> Path:
    """Receipt ``index`` of ``seed`` as ``variant``: the same content in every variant, so variants compare."""
    rng = random.Random(f"{variant}:{seed}:{index}")
    return write_one(out, f"g{seed}_{index:03d}_{layout}", make(layout, seed, index), variant, rng)


def upright(path: Path) -> Image.Image:
    """The image as a viewer shows it (EXIF orientation applied)."""
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate labelled receipts in layouts the reader was not tuned on.")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--count", type=int, default=14)
    parser.add_argument("--seed", type=int, default=0, help="< 1000 for tuning; 9000-9999 are held out for scoring")
    parser.add_argument("--variant", choices=VARIANTS, default="clean")
    parser.add_argument("--layout", choices=sorted(LAYOUTS))
    args = parser.parse_args(argv)
    try:
        paths = generate(args.out, args.count, args.seed, args.variant, args.layout)
    except NoFontError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(paths)} {args.variant} receipts to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
