"""Benchmark the extraction stage on a labelled receipt folder (DESIGN.md format).

``python -m bench.extraction --data DIR [--limit N] [--verbose]`` prints ``name: value unit`` lines:
exact-match accuracy per field, review-flag quality, latency and peak memory. A truth field that is null (or
missing) is not scored; ``kind: not_receipt`` files are only checked for being flagged, ``kind: partial``
files are scored on the fields they have. A plain OCR + regex baseline runs on the same OCR lines (no extra
OCR cost) for contrast.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import sys
import time
import unicodedata
from decimal import Decimal, InvalidOperation
from pathlib import Path

from chalicelib.extraction import ExtractionError
from chalicelib.extraction.normalise import find_amounts, find_dates
from chalicelib.extraction.ocr_engine import default_engine
from chalicelib.extraction.service import extract_document_detailed

FIELDS = ("total", "date", "currency", "vendor", "tax")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".pdf"}


def _dec(value) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        return None


def _vendor_key(value: str | None) -> str:
    s = unicodedata.normalize("NFKC", value or "").casefold()
    return re.sub(r"[\W_]+", "", s)


def field_matches(name: str, got, want) -> bool:
    if name in ("total", "tax"):
        return _dec(got) is not None and _dec(got) == _dec(want)
    if name == "vendor":
        return _vendor_key(got) == _vendor_key(want)
    return got == want


def vendor_partial(got: str | None, want: str | None) -> bool:
    """Lenient vendor match: one normalised name contains the other (truth often has both scripts)."""
    g, w = _vendor_key(got), _vendor_key(want)
    return bool(g and w and len(min(g, w, key=len)) >= 2 and (g in w or w in g))


def baseline(lines: list[list]) -> dict:
    """Plain OCR + regex: the amount on a 'total' line, else the largest amount; the first date."""
    texts = [ln.text for page in lines for ln in page]
    total = None
    for i, t in enumerate(texts):
        if re.search(r"total|總|合計|合计", t, re.I):
            amounts = find_amounts(t) or (find_amounts(texts[i + 1]) if i + 1 < len(texts) else [])
            if amounts:
                total = amounts[-1][0]
    if total is None:
        allm = [a[0] for t in texts for a in find_amounts(t) if a[1]]
        total = max(allm) if allm else None
    date = None
    for t in texts:
        found = find_dates(t)
        if found:
            date = found[0][0].isoformat()
            break
    return {"total": str(total) if total is not None else None, "date": date, "currency": "HKD"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="print each wrong field to stderr")
    args = parser.parse_args(argv)

    files = sorted(
        p
        for p in args.data.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and p.with_suffix(".json").exists()
    )
    if args.limit:
        files = files[: args.limit]
    if not files:
        print(f"no labelled images in {args.data}", file=sys.stderr)
        return 2

    engine = default_engine()
    correct = dict.fromkeys(FIELDS, 0)
    scored = dict.fromkeys(FIELDS, 0)
    base_correct = {"total": 0, "date": 0, "currency": 0}
    vendor_loose = 0
    seconds: list[float] = []
    flagged = flagged_wrong = wrong = wrong_unflagged = receipts = 0
    not_receipt = not_receipt_flagged = errors = 0
    for path in files:
        truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        kind = truth.get("kind", "receipt")
        start = time.perf_counter()
        try:
            result = extract_document_detailed(path.read_bytes(), path.name, engine=engine)
        except ExtractionError as exc:
            errors += 1
            print(f"{path.name}: error {exc.reason}", file=sys.stderr)
            continue
        seconds.append(time.perf_counter() - start)
        got = result.receipt.to_cli_json(path.name)
        if kind == "not_receipt":
            not_receipt += 1
            not_receipt_flagged += bool(got["needs_review"])
            continue
        receipts += 1
        any_wrong = False
        for name in FIELDS:
            want = truth.get(name)
            if want is None:
                continue
            scored[name] += 1
            ok = field_matches(name, got[name], want)
            correct[name] += ok
            if name == "vendor":
                vendor_loose += vendor_partial(got[name], want)
            elif not ok:
                any_wrong = True
                if args.verbose:
                    print(
                        f"{path.name}: {name} got {got[name]!r} want {want!r} "
                        f"review={got['needs_review']} {got['review_reasons']}",
                        file=sys.stderr,
                    )
        b = baseline(result.lines)
        for name in base_correct:
            if truth.get(name) is not None:
                base_correct[name] += field_matches(name, b[name], truth[name])
        flagged += bool(got["needs_review"])
        wrong += any_wrong
        flagged_wrong += any_wrong and got["needs_review"]
        wrong_unflagged += any_wrong and not got["needs_review"]

    def ratio(a: int, b: int) -> str:
        return f"{a / b:.3f}" if b else "nan"

    print(f"receipts: {receipts} count")
    for name in FIELDS:
        print(f"{name}_exact: {ratio(correct[name], scored[name])} ratio")
        print(f"{name}_scored: {scored[name]} count")
    print(f"vendor_contains: {ratio(vendor_loose, scored['vendor'])} ratio")
    for name, n in base_correct.items():
        print(f"baseline_{name}_exact: {ratio(n, scored[name])} ratio")
    print(f"needs_review_rate: {ratio(flagged, receipts)} ratio")
    print(f"wrong_receipts: {wrong} count")
    print(f"flagged_and_wrong: {flagged_wrong} count")
    print(f"flag_precision: {ratio(flagged_wrong, flagged)} ratio")
    print(f"wrong_unflagged_rate: {ratio(wrong_unflagged, receipts)} ratio")
    if not_receipt:
        print(f"not_receipt_flagged: {ratio(not_receipt_flagged, not_receipt)} ratio")
    print(f"errors: {errors} count")
    if seconds:
        ordered = sorted(seconds)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(f"latency_p50: {statistics.median(ordered):.3f} s")
        print(f"latency_p95: {p95:.3f} s")
    print(f"peak_rss: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
