"""The catalogue is complete in both languages and every key a page or script asks for exists; locale choice and
formatting read as a Hong Kong reader expects."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from chalicelib.web import i18n, pages

# a literal key, closed at once: `t("lang." ~ code)` builds its key at run time and is checked by its own test
KEY_IN_TEMPLATE = re.compile(r"""\bt\(\s*["']([\w.-]+)["']\s*[,)]""")
KEY_IN_SCRIPT = re.compile(r"""\bt\(\s*["'`]([\w.-]+)["'`]\s*[,)]""")


def test_every_key_reads_in_both_languages():
    for key, texts in i18n.catalogue().items():
        assert set(texts) == set(i18n.LOCALES), key
        assert all(text.strip() for text in texts.values()), key
        assert set(re.findall(r"\{(\w+)\}", texts["en"])) == set(re.findall(r"\{(\w+)\}", texts["zh-Hant"])), key
    for code in i18n.LOCALES:  # the switch's labels (base.html builds these keys from LOCALES)
        assert f"lang.{code}" in i18n.catalogue()


def test_every_key_the_pages_and_scripts_ask_for_exists():
    wanted = set()
    for path in pages.TEMPLATES_DIR.glob("*.html"):
        wanted |= {(path.name, key) for key in KEY_IN_TEMPLATE.findall(path.read_text("utf-8"))}
    for path in pages.STATIC_DIR.glob("*.js"):
        wanted |= {(path.name, key) for key in KEY_IN_SCRIPT.findall(path.read_text("utf-8"))}
    assert wanted, "no t(...) call found: the pattern no longer matches how pages ask for strings"
    missing = sorted((name, key) for name, key in wanted if key not in i18n.catalogue())
    assert not missing


def test_a_key_defined_in_two_files_is_refused(tmp_path, monkeypatch):
    (tmp_path / "a.json").write_text('{"x.y": {"en": "a", "zh-Hant": "甲"}}', "utf-8")
    (tmp_path / "b.json").write_text('{"x.y": {"en": "b", "zh-Hant": "乙"}}', "utf-8")
    monkeypatch.setattr(i18n, "MESSAGES_DIR", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        with pytest.raises(ValueError, match="x.y"):
            i18n.catalogue()
    finally:
        monkeypatch.undo()
        i18n.catalogue.cache_clear()


def _request(cookie: str = "", accept: str = ""):
    return SimpleNamespace(headers={"cookie": cookie, "accept-language": accept})


@pytest.mark.parametrize(("cookie", "accept", "expected"), [
    ("lang=en", "zh-HK,zh;q=0.9", "en"),  # the switch wins over the browser
    ("theme=dark; lang=zh-Hant", "en-GB", "zh-Hant"),
    ("", "en-HK,en;q=0.9,zh-HK;q=0.8", "en"),
    ("", "fr-FR,zh-TW;q=0.7,en;q=0.5", "zh-Hant"),  # the first supported language by q
    ("", "de-DE", "zh-Hant"),  # nothing supported: the default
    ("lang=xx", "", "zh-Hant"),  # an unknown cookie value is ignored
])
def test_the_locale_comes_from_the_switch_then_the_browser(cookie, accept, expected):
    assert i18n.locale_of(_request(cookie, accept)) == expected


def test_amounts_and_times_read_as_in_hong_kong():
    assert i18n.money(Decimal("1234.5"), "HKD", "en") == "HK$1,234.50"
    assert i18n.money(Decimal("1234.5"), "HKD", "zh-Hant") == "HK$1,234.50"
    assert i18n.money(Decimal("1000"), "JPY", "en") == "JP¥1,000"  # the currency's own decimals
    at = datetime(2026, 12, 1, 6, 2, tzinfo=UTC)
    assert i18n.when(at, "Asia/Hong_Kong", "en") == "1 Dec 2026, 14:02 HKT"
    assert i18n.when(at, "Asia/Hong_Kong", "zh-Hant") == "2026年12月1日 14:02 香港標準時間"
    with pytest.raises(ValueError):
        i18n.when(datetime(2026, 12, 1, 6, 2), "Asia/Hong_Kong", "en")  # noqa: DTZ001 (the naive case itself)


def test_a_page_renders_in_the_readers_language():
    english = pages.render("signin.html", _request("lang=en"), root="", title_key="signin.title")
    chinese = pages.render("signin.html", _request("lang=zh-Hant"), root="", title_key="signin.title")
    assert '<html lang="en">' in english and ">Sign in</h1>" in english
    assert '<html lang="zh-Hant">' in chinese and ">登入</h1>" in chinese
    assert '"nav.home": "My expenses"' in english  # the scripts' catalogue, in the page's language
