"""What a person reads, in their language: the message catalogue (English and 繁體中文) and locale formatting.

The catalogue is data, one JSON file per area under `messages/` (`{"area.key": {"en": …, "zh-Hant": …}}`), so
pages, scripts and tests share one source and each area's strings live beside nothing else. Scripts get the
page's locale's catalogue as a JSON data block (base.html) and format with the browser's Intl; the server formats
with Babel's CLDR data, so "HK$1,234.50" and "1 Dec 2026, 14:02 HKT" read the same in both.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_currency

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
LOCALES = ("en", "zh-Hant")
DEFAULT = "zh-Hant"  # a Hong Kong company's staff read Traditional Chinese first; the switch is on every page
COOKIE = "lang"
_BABEL = {"en": "en_HK", "zh-Hant": "zh_Hant_HK"}
# CLDR has no short zone name in Chinese ("+0800"), so 繁中 names the zone in full (香港標準時間)
_TIME_FORMAT = {"en": "d MMM y, HH:mm zzz", "zh-Hant": "y年M月d日 HH:mm zzzz"}


class MissingMessage(KeyError):
    """A key no catalogue file defines: a page would show the key itself."""


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every key from every file; a key defined twice is a mistake (two areas would fight over it)."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(MESSAGES_DIR.glob("*.json")):
        for key, texts in json.loads(path.read_text(encoding="utf-8")).items():
            if key in merged:
                raise ValueError(f"{path.name}: {key} is already defined in another messages file")
            merged[key] = texts
    return merged


@cache
def messages(locale: str) -> dict[str, str]:
    """One locale's strings, for the page's data block."""
    return {key: texts.get(locale) or texts["en"] for key, texts in catalogue().items()}


def t(locale: str, key: str, **values: object) -> str:
    try:
        text = messages(locale)[key]
    except KeyError:
        raise MissingMessage(key) from None
    return text.format(**values) if values else text


def _from_accept_language(header: str) -> str | None:
    """The first supported language the browser asks for, by its q order (zh-HK, zh-TW, zh → 繁中)."""
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-Hant"
        if tag.startswith("en"):
            return "en"
    return None


def locale_of(request) -> str:
    """The `lang` cookie the switch sets, else the browser's Accept-Language, else 繁中."""
    headers = getattr(request, "headers", None) or {}
    for part in (headers.get("cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value in LOCALES:
            return value
    return _from_accept_language(headers.get("accept-language") or "") or DEFAULT


def money(amount: Decimal | str | None, currency: str | None, locale: str) -> str:
    """"HK$1,234.50", "CN¥88.00": CLDR's symbol and grouping for the locale, the currency's own decimals."""
    if amount in (None, ""):
        return ""
    return format_currency(Decimal(str(amount)), currency or "HKD", locale=_BABEL.get(locale, "en_HK"))


def when(moment: datetime | str | None, zone: str, locale: str) -> str:
    """A UTC instant in the viewer's zone with the zone named ("1 Dec 2026, 14:02 HKT")."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place on a page: store and pass UTC")
    return format_datetime(moment, _TIME_FORMAT.get(locale, _TIME_FORMAT["en"]), tzinfo=ZoneInfo(zone),
                           locale=_BABEL.get(locale, "en_HK"))
