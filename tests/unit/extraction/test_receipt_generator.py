"""The synthetic receipt generator: truth arithmetic and the labelled-folder format other tools read."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tools.receipt_generator import FontNotFoundError, ReceiptSpec, format_date, generate, main


def test_service_charge_discount_and_rounding() -> None:
    spec = ReceiptSpec(
        vendor="翠園",
        date=datetime.date(2026, 11, 3),
        items=[("北京填鴨", Decimal("4800.00")), ("清蒸石斑", Decimal("1381.82"))],
        service_charge=True,
        discount=Decimal("20.00"),
        round_to_dollar=True,
    )
    assert spec.subtotal == Decimal("6181.82")
    assert spec.service_amount == Decimal("618.20")
    assert spec.total == Decimal("6780.00")
    assert spec.truth() == {
        "vendor": "翠園",
        "date": "2026-11-03",
        "total": "6780.00",
        "currency": "HKD",
        "tax": None,
    }


@pytest.mark.parametrize(
    ("style", "text"),
    [
        ("iso", "2026-11-03"),
        ("dmy", "03/11/2026"),
        ("cjk", "2026年11月3日"),
        ("dmon", "3 Nov 2026"),
        ("dmy2", "03-11-26"),
        ("compact", "20261103"),
    ],
)
def test_date_styles(style: str, text: str) -> None:
    assert format_date(datetime.date(2026, 11, 3), style) == text


def test_generate_writes_labelled_folder(tmp_path: Path) -> None:
    try:
        paths = generate(tmp_path, 3, seed=5, noisy=True)
    except FontNotFoundError as exc:
        pytest.skip(str(exc))
    assert len(paths) == 3 and all(p.suffix == ".jpg" and p.stat().st_size > 1000 for p in paths)
    for p in paths:
        truth = json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))
        assert set(truth) == {"vendor", "date", "total", "currency", "tax"}
        assert Decimal(truth["total"]) > 0 and datetime.date.fromisoformat(truth["date"])


def test_generation_is_reproducible(tmp_path: Path) -> None:
    try:
        a = generate(tmp_path / "a", 2, seed=9, noisy=False)
        b = generate(tmp_path / "b", 2, seed=9, noisy=False)
    except FontNotFoundError as exc:
        pytest.skip(str(exc))
    assert [p.with_suffix(".json").read_text() for p in a] == [p.with_suffix(".json").read_text() for p in b]


def test_cli(tmp_path: Path, capsys) -> None:
    try:
        assert main(["--out", str(tmp_path), "--count", "1", "--seed", "1"]) == 0
    except FontNotFoundError as exc:  # pragma: no cover - main() reports it instead
        pytest.skip(str(exc))
    assert (tmp_path / "synthetic_1_0000.png").exists() and (tmp_path / "synthetic_1_0000.json").exists()
