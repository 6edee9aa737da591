"""The second receipt generator: printed arithmetic adds up to the truth, seeds reproduce files, photos stored
sideways really are sideways, and every layout renders."""

from __future__ import annotations

import datetime
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from tools import hk_layouts
from tools.hk_layouts import LAYOUTS, NoFontError, cny_capitals, generate, make, upright, write_one

SEEDS = range(40)


def _printed_somewhere(value: Decimal, text: str) -> bool:
    return f"{abs(value):,.2f}" in text or f"{abs(value):.2f}" in text


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_printed_amounts_add_up_to_the_truth(layout: str) -> None:
    for seed in SEEDS:
        p = make(layout, seed)
        a = p.amounts
        zero = Decimal(0)
        added = sum((a.get(k, zero) for k in ("subtotal", "service", "tax", "tip", "surcharges")), zero)
        assert added - a.get("discount", zero) == a["total"] == p.total, (layout, seed, a)
        assert p.total > 0
        if "tendered" in a:
            assert a["tendered"] - a["change"] == p.total and a["change"] >= 0
        if "payments" in a:
            # the folio's payment rows (printed negative) settle the total: balance 0.00
            paid = [r.cells[-1] for r in p.rows if r.cells and r.cells[-1].startswith("-")]
            assert a["payments"] == p.total == -sum(Decimal(x.replace(",", "")) for x in paid)
        if "hkd_equivalent" in a:
            assert a["hkd_equivalent"] == (p.total / Decimal("1.03")).quantize(Decimal("0.01"))
        assert p.tax == a.get("tax")
        text = p.text()
        for key in ("total", "tax", "tendered", "change"):
            if key in a:
                assert _printed_somewhere(a[key], text), (layout, seed, key)
        assert 2025 <= p.date.year <= 2026


def test_cash_tendered_is_a_round_number_above_the_total() -> None:
    seen = 0
    for seed in SEEDS:
        a = make("cha_chaan_teng", seed).amounts
        if "tendered" in a:
            seen += 1
            assert a["tendered"] > a["total"] and a["tendered"] % 10 == 0
    assert seen >= 5


def test_fapiao_prints_the_total_in_capitals() -> None:
    assert cny_capitals(Decimal("1234.56")) == "壹仟贰佰叁拾肆元伍角陆分"
    assert cny_capitals(Decimal("1005.00")) == "壹仟零伍元整"
    assert cny_capitals(Decimal("100010.00")) == "壹拾万零壹拾元整"
    assert cny_capitals(Decimal("30.05")) == "叁拾元零伍分"
    p = make("vat_fapiao", 3)
    assert cny_capitals(p.total) in p.text() and p.currency == "CNY" and p.tax is not None


def test_layouts_vary_their_wording() -> None:
    texts = {make("supermarket", seed).text() for seed in SEEDS}
    joined = "\n".join(texts)
    assert "八達通" in joined and ("實收" in joined or "現金" in joined) and "會員" in joined
    assert any("Amount Due" in make("western", s).text() for s in SEEDS)
    assert {make("macau", s).currency for s in SEEDS} == {"MOP"}
    assert {make("western", s).currency for s in SEEDS} == {"HKD", "USD"}


def _fonts_or_skip() -> None:
    try:
        hk_layouts.faces_for("hant")
        hk_layouts.faces_for("hans")
    except NoFontError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_renders(layout: str) -> None:
    _fonts_or_skip()
    p = make(layout, 1)
    img = hk_layouts.render(p, hk_layouts.faces_for(p.script)[0])
    assert img.width == p.width and img.height > 200
    assert img.convert("L").getextrema() == (0, 255)  # black ink on white paper


def test_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    _fonts_or_skip()
    a = generate(tmp_path / "a", 2, seed=7, variant="noisy")
    b = generate(tmp_path / "b", 2, seed=7, variant="noisy")
    c = generate(tmp_path / "c", 2, seed=8, variant="noisy")
    assert [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    truths = [json.loads(p.with_suffix(".json").read_text(encoding="utf-8")) for p in a + c]
    assert truths[0] != truths[2]
    for t in truths:
        assert {"vendor", "date", "total", "currency", "tax", "layout", "variant"} <= set(t)
        assert datetime.date.fromisoformat(t["date"]) and Decimal(t["total"]) > 0 and t["variant"] == "noisy"


def test_exif_photos_are_stored_turned_and_read_upright(tmp_path: Path) -> None:
    _fonts_or_skip()
    p = make("taxi", 2)
    plain = write_one(tmp_path, "plain", p, "photo", random.Random(1), orientation=1)
    turned = write_one(tmp_path, "turned", p, "photo", random.Random(1), orientation=6)
    with Image.open(turned) as raw:
        assert raw.getexif().get(hk_layouts.EXIF_ORIENTATION_TAG) == 6
        stored = raw.size
    shown = upright(turned)
    assert stored == (shown.height, shown.width) and stored[0] != stored[1]
    reference = upright(plain)
    assert reference.size == shown.size
    # the same photo once the tag is applied (only JPEG re-encoding differs)
    assert max(ImageStat.Stat(ImageChops.difference(reference, shown).convert("L")).mean) < 6
    assert json.loads(turned.with_suffix(".json").read_text(encoding="utf-8"))["exif_orientation"] == 6


def test_cli_writes_one_layout(tmp_path: Path) -> None:
    _fonts_or_skip()
    assert hk_layouts.main(["--out", str(tmp_path), "--count", "2", "--seed", "3", "--layout", "macau"]) == 0
    files = sorted(tmp_path.glob("*.png"))
    assert len(files) == 2 and all("macau" in f.name for f in files)
    with pytest.raises(ValueError, match="unknown layout"):
        generate(tmp_path, 1, 1, "clean", layout="airline")
