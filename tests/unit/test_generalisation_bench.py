"""The generalisation bench's scoring, without OCR: what counts as wrong, as unflagged, and how public labels
are read."""

from __future__ import annotations

import pytest

from bench.generalisation import (
    label_amount,
    label_date,
    main,
    misses,
    plan,
    public_truths,
    score_file,
    summarise,
)

TRUTH = {
    "vendor": "蘭芳園",
    "date": "2025-10-25",
    "total": "155.10",
    "currency": "HKD",
    "tax": None,
    "layout": "cha_chaan_teng",
    "variant": "clean",
}


def got(**over) -> dict:
    base = {
        "vendor": "蘭芳園",
        "date": "2025-10-25",
        "total": "155.10",
        "currency": "HKD",
        "tax": None,
        "needs_review": False,
    }
    return base | over


def test_a_right_receipt_scores_every_field() -> None:
    s = score_file(TRUTH, got(), name="a.png", group="clean")
    assert s.ok == {"total": True, "date": True, "currency": True, "tax": True}
    assert not s.wrong and not s.wrong_unflagged and s.layout == "cha_chaan_teng"


def test_tendered_cash_read_as_total_is_a_miss_unless_flagged() -> None:
    unflagged = score_file(TRUTH, got(total="200.00"), name="b.png", group="clean")
    flagged = score_file(TRUTH, got(total="200.00", needs_review=True), name="c.png", group="clean")
    assert unflagged.wrong == ["total"] and unflagged.wrong_unflagged
    assert flagged.wrong == ["total"] and not flagged.wrong_unflagged
    assert misses([unflagged, flagged]) == [
        "# miss group=clean layout=cha_chaan_teng field=total got='200.00' want='155.10' file=b.png"
    ]


def test_a_tax_read_where_none_is_printed_is_wrong_but_not_a_scored_miss() -> None:
    s = score_file(TRUTH, got(tax="155.10"))
    assert s.ok["tax"] is False and not s.wrong_unflagged  # tax is reported, total/date/currency decide
    assert score_file(TRUTH, got(tax="0.00")).ok["tax"] is True
    # public labels leave tax out: a null there is unknown, not "none"
    assert score_file({"total": "9.00", "date": None}, got(total="9.00", tax="1.00")).ok == {
        "total": True,
        "date": None,
        "currency": None,
        "tax": None,
    }


def test_summary_rates() -> None:
    scores = [
        score_file(TRUTH, got(), seconds=1.0),
        score_file(TRUTH, got(total="200.00"), seconds=2.0),
        score_file(TRUTH, got(date="2025-10-26", needs_review=True), seconds=3.0),
        score_file(TRUTH, got(currency="MOP"), seconds=4.0),
    ]
    s = summarise(scores)
    assert s["n"] == 4
    assert s["total_accuracy"] == 0.75 and s["date_accuracy"] == 0.75 and s["currency_accuracy"] == 0.75
    assert s["wrong_unflagged_rate"] == 0.5 and s["flagged_rate"] == 0.25
    assert s["latency_p50"] == 2.5 and s["errors"] == 0
    assert summarise([])["total_accuracy"] is None


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("25/12/2018", "2018-12-25"),
        ("09/01/2019", "2019-01-09"),
        ("21/02/18", "2018-02-21"),
        ("10-05-17", "2017-05-10"),
        ("03 MAR 2018", "2018-03-03"),
        ("OCT 3, 2016", "2016-10-03"),
        ("12/30/2016FRI", "2016-12-30"),
        ("no date", None),
    ],
)
def test_public_date_labels(text: str, iso: str | None) -> None:
    assert label_date(text) == iso


def test_public_amount_labels() -> None:
    assert label_amount("RM152.00") == "152.00"
    assert label_amount("$8.20") == "8.20"
    assert label_amount("1,234.50") == "1234.50"
    assert label_amount(None) is None


def test_public_sets_are_read_when_present() -> None:
    truths = public_truths()
    if not truths:
        pytest.skip("../shared/realdata/receipts is absent")
    sets = {name for name, _, _ in truths}
    assert sets == {"sroie", "wildreceipt"}
    assert all(image.exists() for _, image, _ in truths)
    assert all(t["total"] is not None and t["date"] is not None for name, _, t in truths if name == "sroie")


def test_plan_spreads_held_out_seeds_and_turns_layouts() -> None:
    p = plan(4, 9000, 9999, ["a", "b"])
    assert p == [("a", 9000), ("b", 9250), ("a", 9500), ("b", 9750)]


def test_tuning_seeds_are_refused(capsys) -> None:
    assert main(["--seeds", "100-200", "--count", "1"]) == 2
    assert "tuning" in capsys.readouterr().err
