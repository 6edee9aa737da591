"""How well the extraction stage reads receipt layouts it was never tuned on.

``python -m bench.generalisation [--count 30] [--seeds 9000-9999] [--variants clean,noisy,photo] [--public]
[--out DIR] [--verbose] [--results FILE]`` generates receipts with ``tools.hk_layouts`` on HELD-OUT seeds, runs
the real pipeline (``extract_document_detailed`` with the default OCR engine, loaded once) and prints
``name: value unit`` lines per variant and per layout: total / date / currency (and tax) accuracy,
``wrong_unflagged_rate`` (a scored field is wrong while ``needs_review`` is False: the errors that would reach an
approver unseen), ``flagged_rate``, ``n`` and p50 latency. ``--public`` also scores every SROIE and WildReceipt
photo in ../shared/realdata (total and date where labelled). ``--verbose`` prints one ``# miss`` line per
wrong-and-unflagged field; ``--results`` writes every file's outcome (read, wanted, flagged, review reasons) as
JSON lines for whoever works on the resolver.

Seed policy: seeds below 1000 are for tuning (look at them, fit rules to them); 9000-9999 are for scoring and
nobody looks at them while tuning, so a rule fitted to the tuning receipts cannot flatter this score. The bench
refuses seeds below 9000 unless ``--tuning``. Receipt i of a run uses seed ``lo + i * span // count`` of the
range and layout ``i mod 7``; every variant gets the same receipts, so variants differ only in degradation.
"""

from __future__ import annotations

import argparse
import calendar
import dataclasses
import datetime
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bench.extraction import field_matches

HELD_OUT_FIRST = 9000
TUNING_LAST = 999
#: Fields whose error counts as a miss; tax is reported beside them.
SCORED = ("total", "date", "currency")
REPORTED = (*SCORED, "tax")
PUBLIC = Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata" / "receipts"
MONTHS = {calendar.month_abbr[i].upper(): i for i in range(1, 13)}


# ----------------------------------------------------------------------------------------------------------
# scoring (pure: no OCR)


@dataclass
class FileScore:
    """One receipt's outcome: per field ``True``/``False`` (``None``: not labelled), with what was read."""

    name: str
    group: str  # the variant, or the public set
    layout: str
    ok: dict[str, bool | None]
    got: dict[str, object]
    want: dict[str, object]
    needs_review: bool
    seconds: float
    error: str | None = None
    reasons: tuple[str, ...] = ()

    @property
    def wrong(self) -> list[str]:
        return [f for f in SCORED if self.ok.get(f) is False]

    @property
    def wrong_unflagged(self) -> bool:
        return bool(self.wrong) and not self.needs_review


def _no_tax(value) -> bool:
    try:
        return value is None or Decimal(str(value)) == 0
    except InvalidOperation:
        return False


def score_file(
    truth: dict,
    got: dict,
    *,
    name: str = "",
    group: str = "",
    seconds: float = 0.0,
    tax_null_means_none: bool = True,
) -> FileScore:
    """Compare the CLI JSON ``got`` with ``truth``. A null truth field is not scored, except tax on generated
    receipts, whose truth is exact: null there means no tax is printed, so reading one is an error."""
    ok: dict[str, bool | None] = {}
    for f in REPORTED:
        want = truth.get(f)
        if f == "tax" and want is None and tax_null_means_none and "layout" in truth:
            ok[f] = _no_tax(got.get(f))
        elif want is None:
            ok[f] = None
        else:
            ok[f] = field_matches(f, got.get(f), want)
    return FileScore(
        name=name,
        group=group,
        layout=truth.get("layout", group),
        ok=ok,
        got={f: got.get(f) for f in REPORTED},
        want={f: truth.get(f) for f in REPORTED},
        needs_review=bool(got.get("needs_review")),
        seconds=seconds,
        reasons=tuple(got.get("review_reasons") or ()),
    )


def summarise(scores: list[FileScore]) -> dict[str, float | int | None]:
    """Accuracy per field over the files where it is labelled, review rates, n and median latency."""
    out: dict[str, float | int | None] = {"n": len(scores)}
    for f in REPORTED:
        labelled = [s.ok[f] for s in scores if s.ok.get(f) is not None]
        out[f"{f}_accuracy"] = sum(labelled) / len(labelled) if labelled else None
    out["wrong_unflagged_rate"] = sum(s.wrong_unflagged for s in scores) / len(scores) if scores else None
    out["flagged_rate"] = sum(s.needs_review for s in scores) / len(scores) if scores else None
    out["errors"] = sum(s.error is not None for s in scores)
    timed = [s.seconds for s in scores if s.error is None]
    out["latency_p50"] = statistics.median(timed) if timed else None
    return out


def format_summary(prefix: str, summary: dict) -> list[str]:
    lines = []
    for key, value in summary.items():
        unit = "count" if key in ("n", "errors") else "s" if key.startswith("latency") else "ratio"
        shown = "nan" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
        lines.append(f"{prefix}.{key}: {shown} {unit}")
    return lines


def misses(scores: Iterable[FileScore]) -> list[str]:
    """One line per field that is wrong while the receipt is not flagged (tax included, for the resolver)."""
    lines = []
    for s in scores:
        if s.needs_review:
            continue
        for f in REPORTED:
            if s.ok.get(f) is False:
                lines.append(
                    f"# miss group={s.group} layout={s.layout} field={f} got={s.got[f]!r} want={s.want[f]!r} "
                    f"file={s.name}"
                )
    return lines


def group_by(scores: list[FileScore], key: Callable[[FileScore], str]) -> dict[str, list[FileScore]]:
    groups: dict[str, list[FileScore]] = {}
    for s in scores:
        groups.setdefault(key(s), []).append(s)
    return groups


# ----------------------------------------------------------------------------------------------------------
# public labels (SROIE entities, WildReceipt per-box classes): verbatim strings, normalised to the CLI shape


def label_amount(text: str | None) -> str | None:
    """``RM152.00`` / ``$8.20`` / ``1,234.50`` → ``152.00`` / ``8.20`` / ``1234.50``."""
    if not text:
        return None
    m = re.search(r"\d[\d,]*(?:\.\d+)?", text)
    if not m:
        return None
    try:
        return str(Decimal(m.group().replace(",", "")))
    except InvalidOperation:
        return None


def label_date(text: str | None) -> str | None:
    """A printed date label to ISO. Day first (SROIE is Malaysian) unless the first number cannot be a month
    day pair that way (``12/30/2016`` is month first); ``03 MAR 2018`` and ``OCT 3, 2016`` by month name."""
    if not text:
        return None
    t = text.upper()
    m = re.search(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})", t)
    if m:
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        y += 2000 if y < 100 else 0
        for day, month in ((a, b), (b, a)):
            try:
                return datetime.date(y, month, day).isoformat()
            except ValueError:
                continue
        return None
    m = re.search(r"(\d{1,2})\s*([A-Z]{3})[A-Z]*\s*,?\s*(\d{4})", t) or None
    if m and m[2] in MONTHS:
        return datetime.date(int(m[3]), MONTHS[m[2]], int(m[1])).isoformat()
    m = re.search(r"([A-Z]{3})[A-Z]*\.?\s*(\d{1,2}),?\s*(\d{4})", t)
    if m and m[1] in MONTHS:
        return datetime.date(int(m[3]), MONTHS[m[1]], int(m[2])).isoformat()
    return None


def public_truths(root: Path = PUBLIC) -> list[tuple[str, Path, dict]]:
    """(set, image, truth) for every SROIE and WildReceipt photo, with total and date where labelled."""
    out: list[tuple[str, Path, dict]] = []
    for entities in sorted((root / "sroie").glob("*.entities.json")):
        e = json.loads(entities.read_text(encoding="utf-8"))
        image = entities.with_name(entities.name.replace(".entities.json", ".jpg"))
        out.append(("sroie", image, {"total": label_amount(e.get("total")), "date": label_date(e.get("date"))}))
    wild = root / "wildreceipt"
    data = wild / "mmocr_kie_toy_wildreceipt_data.txt"
    if data.exists():
        for line in data.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            image = wild / f"wildreceipt_mmocr_{Path(record['file_name']).name}"
            by_label: dict[int, str] = {}
            for box in record["annotations"]:
                by_label.setdefault(box["label"], box["text"])
            truth = {"total": label_amount(by_label.get(23)), "date": label_date(by_label.get(7))}
            if image.exists():
                out.append(("wildreceipt", image, truth))
    return out


# ----------------------------------------------------------------------------------------------------------
# running


def parse_seeds(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    first, last = int(lo), int(hi or lo)
    if last < first:
        raise ValueError(f"empty seed range {text!r}")
    return first, last


def plan(count: int, first: int, last: int, layouts: list[str]) -> list[tuple[str, int]]:
    """(layout, seed) per receipt: seeds spread over the range, layouts in turn."""
    span = last - first + 1
    return [(layouts[i % len(layouts)], first + (i * span // count) % span) for i in range(count)]


def run_file(path: Path, truth: dict, group: str, engine) -> FileScore:
    from chalicelib.extraction import ExtractionError
    from chalicelib.extraction.service import extract_document_detailed

    start = time.perf_counter()
    try:
        result = extract_document_detailed(path.read_bytes(), path.name, engine=engine)
    except ExtractionError as exc:
        score = score_file(truth, {"needs_review": True}, name=path.name, group=group)
        score.error = exc.reason
        return score
    got = result.receipt.to_cli_json(path.name)
    return score_file(truth, got, name=path.name, group=group, seconds=time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30, help="receipts per variant (default 30)")
    parser.add_argument("--seeds", default="9000-9999", help="held-out seed range (default 9000-9999)")
    parser.add_argument("--variants", default="clean,noisy,photo")
    parser.add_argument("--layouts", default="", help="comma-separated subset of layouts (default all)")
    parser.add_argument("--public", action="store_true", help="also score SROIE and WildReceipt photos")
    parser.add_argument("--out", type=Path, help="where the generated sets go (default: a temporary folder)")
    parser.add_argument("--tuning", action="store_true", help="allow seeds below 9000 (tuning, not scoring)")
    parser.add_argument("--verbose", action="store_true", help="print each wrong-and-unflagged field")
    parser.add_argument("--results", type=Path, help="write every file's outcome as JSON lines here")
    args = parser.parse_args(argv)

    from tools.hk_layouts import LAYOUTS, VARIANTS, NoFontError, write_seeded

    first, last = parse_seeds(args.seeds)
    if first < HELD_OUT_FIRST and not args.tuning:
        print(
            f"refusing seeds {args.seeds}: below {HELD_OUT_FIRST} they are tuning seeds (<= {TUNING_LAST} by "
            "convention); scores on them flatter the reader. Pass --tuning to run them anyway.",
            file=sys.stderr,
        )
        return 2
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    layouts = [x for x in args.layouts.split(",") if x] or list(LAYOUTS)
    unknown |= set(layouts) - set(LAYOUTS)
    if unknown:
        print(f"unknown variant or layout: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2

    from chalicelib.extraction.ocr_engine import default_engine

    engine = default_engine()
    out = args.out or Path(tempfile.mkdtemp(prefix="generalisation-"))
    scores: list[FileScore] = []
    for variant in variants:
        folder = out / variant
        folder.mkdir(parents=True, exist_ok=True)
        for layout, seed in plan(args.count, first, last, layouts):
            try:
                path = write_seeded(folder, layout, seed, 0, variant)
            except NoFontError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            scores.append(run_file(path, truth, variant, engine))

    print(f"seeds: {first}-{last} range")
    for line in format_summary("all", summarise(scores)):
        print(line)
    for variant, group in group_by(scores, lambda s: s.group).items():
        for line in format_summary(f"variant.{variant}", summarise(group)):
            print(line)
    for layout, group in sorted(group_by(scores, lambda s: s.layout).items()):
        for line in format_summary(f"layout.{layout}", summarise(group)):
            print(line)

    public: list[FileScore] = []
    if args.public:
        truths = public_truths()
        if not truths:
            print(f"public sets skipped: nothing labelled under {PUBLIC}", file=sys.stderr)
        for name, image, truth in truths:
            public.append(run_file(image, truth, name, engine))
        for name, group in group_by(public, lambda s: s.group).items():
            for line in format_summary(f"public.{name}", summarise(group)):
                print(line)

    if args.verbose:
        for line in misses(scores + public):
            print(line)
    if args.results:
        with args.results.open("w", encoding="utf-8") as fh:
            for sc in scores + public:
                fh.write(json.dumps(dataclasses.asdict(sc), ensure_ascii=False, default=str) + "\n")
    print(f"# generated sets in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
