"""Where the time and memory of reading a real photo go: OCR settings measured side by side, in one run.

``python -m bench.ocr_speed [--data DIR] [--limit N] [--configs a,b,...] [--rounds R] [--breakdown]`` runs the
whole extraction (documents → OCR → builder → resolver) over a labelled folder once per configuration, each in
fresh processes so its peak RSS is its own, and prints per configuration: p50 and p90 wall seconds per receipt, p50
CPU seconds (user + system of the process, which another busy process on the machine inflates far less than wall
time), peak RSS in MB after the model load and over the set, and the total / date / currency / vendor exact-match
accuracy, so a faster setting that reads worse is visible at once. The photos are split into ``--rounds``
interleaved slices and the configurations take turns slice by slice (before, after, before, after, ...), so a burst
of load from another process hits them alike. ``before`` is the default before issue #18 (detection of the whole
page at 1600 px); ``prev`` the default before the last speed round (faster-paddle's deskew, every header read
again); ``after`` is the default the code ships now (the environment is cleared of the knobs, so the code's own
defaults run). ``--breakdown`` instead prints, for the settings in the environment, where each photo's wall time
goes (decoding, deskew, the page's OCR, the header's second OCR, the rest: parsing, resolving, the image hash) and
how many OCR passes it took. Wall times are only comparable within one run on a quiet machine; the CPU figures are
the steadier guide.

Knobs (environment variables the extraction code reads): OCR_MODEL_SIZE (small / tiny), OCR_THREADS,
OCR_DET_MAX_SIDE (detection input's long side), OCR_HEADER_SHARE (share of the text's height, from the top, read a
second time on its own; 0 = off), OCR_TILE_BELOW (a page whose long side is under this is read as two halves; 0 =
never), OCR_REC_BATCH (text boxes per recognition call), OCR_MAX_LONG_SIDE (photos are downscaled to this before
OCR), and faster-paddle's own OCR_MEMPAT / OCR_PREPACK (ONNX Runtime memory pattern and weight pre-packing) and
OCR_DET_SPIN / OCR_REC_SPIN (ONNX Runtime threads spinning while they wait); OCR_DESKEW (rust / ink / off) and
OCR_HEADER_WHEN (coarse / always: read the header again only when the page pass read it small or unsurely).

Measured (52 real HK photos, 2 cores, load average 8-18 from other work, ``--rounds 2``), CPU p50 / peak RSS /
vendor (total, date, currency 1.000 in all): prev 2.11 s / 456 MB / 0.959; after 1.80 s / 454 MB / 0.959;
inkdeskew 1.78 s / 435 MB / 0.939 (one vendor fewer, so not the default). Per photo, the image hash went from
~0.18 s to ~0.04 s of CPU (the closing as separable shifted copies, same pixels) and the header's second read
(~0.28 s) now runs on about one photo in five. On a quiet machine (load 0.7-1.5), ``--configs prev,after
--rounds 2``: prev p50 1.25 s / p90 1.70 s wall, CPU 2.01 s; after p50 1.00 s / p90 1.31 s, CPU 1.55 s, 452 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata" / "receipts" / "hk"

KNOBS = ("OCR_MODEL_SIZE", "OCR_THREADS", "OCR_DET_MAX_SIDE", "OCR_HEADER_SHARE", "OCR_TILE_BELOW", "OCR_REC_BATCH",
         "OCR_MAX_LONG_SIDE", "OCR_MEMPAT", "OCR_PREPACK", "OCR_DET_SPIN", "OCR_REC_SPIN", "OCR_DESKEW",
         "OCR_HEADER_WHEN")

#: name -> environment; "before" is the code's default before issue #18, "after" the code's default now.
CONFIGS: dict[str, dict[str, str]] = {
    "before": {"OCR_DET_MAX_SIDE": "1600", "OCR_MAX_LONG_SIDE": "2000", "OCR_REC_BATCH": "1", "OCR_HEADER_SHARE": "0",
               "OCR_TILE_BELOW": "0", "OCR_DESKEW": "rust"},
    #: the defaults before this round of speed work (faster-paddle's deskew, every header read again)
    "prev": {"OCR_DESKEW": "rust", "OCR_HEADER_WHEN": "always"},
    "after": {},
    "det1280": {"OCR_DET_MAX_SIDE": "1280", "OCR_HEADER_SHARE": "0"},
    "det1024": {"OCR_DET_MAX_SIDE": "1024", "OCR_HEADER_SHARE": "0"},
    "det1024h20": {"OCR_DET_MAX_SIDE": "1024", "OCR_HEADER_SHARE": "0.2"},
    "det1024h30": {"OCR_DET_MAX_SIDE": "1024", "OCR_HEADER_SHARE": "0.3"},
    "det800h30": {"OCR_DET_MAX_SIDE": "800", "OCR_HEADER_SHARE": "0.3"},
    "long1600": {"OCR_DET_MAX_SIDE": "1600", "OCR_MAX_LONG_SIDE": "1600", "OCR_HEADER_SHARE": "0"},
    "batch8": {"OCR_REC_BATCH": "8"},
    "nospin": {"OCR_DET_SPIN": "0", "OCR_REC_SPIN": "0"},
    "nomempat": {"OCR_MEMPAT": "0"},
    "tiny": {"OCR_MODEL_SIZE": "tiny", "OCR_DET_MAX_SIDE": "1600", "OCR_HEADER_SHARE": "0"},
    "inkdeskew": {"OCR_DESKEW": "ink"},
    "nodeskew": {"OCR_DESKEW": "off"},
    "hdralways": {"OCR_HEADER_WHEN": "always"},
    "nohdr": {"OCR_HEADER_SHARE": "0"},
}
DEFAULT_CONFIGS = "before,after"


def run_one(data: Path, limit: int, rounds: int = 1, part: int = 0) -> dict:
    """Inside the child process: extract the labelled receipts of slice ``part`` (of ``rounds``) and measure."""
    from bench.extraction import IMAGE_SUFFIXES, field_matches
    from chalicelib.extraction import ExtractionError
    from chalicelib.extraction.ocr_engine import default_engine
    from chalicelib.extraction.service import extract_document_detailed

    files = sorted(p for p in data.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.with_suffix(".json").exists())
    if limit:
        files = files[:limit]
    files = files[part::rounds]
    engine = default_engine()
    engine.read(_blank())  # load the model outside the timings
    loaded_rss = _rss_mb()
    wall: list[float] = []
    cpu: list[float] = []
    right = dict.fromkeys(("total", "date", "currency", "vendor"), 0)
    scored = dict.fromkeys(("total", "date", "currency", "vendor"), 0)
    for path in files:
        truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        start, start_cpu = time.perf_counter(), _cpu()
        try:
            receipt = extract_document_detailed(path.read_bytes(), path.name, engine=engine).receipt
        except ExtractionError:
            continue
        wall.append(time.perf_counter() - start)
        cpu.append(_cpu() - start_cpu)
        if truth.get("kind", "receipt") == "not_receipt":
            continue
        got = receipt.to_cli_json(path.name)
        for name in right:
            if truth.get(name) is not None:
                scored[name] += 1
                right[name] += field_matches(name, got[name], truth[name])
    return {"wall": wall, "cpu": cpu, "rss_loaded": loaded_rss, "rss_peak": _rss_mb(), "right": right,
            "scored": scored}


def summary(parts: list[dict]) -> dict:
    """One configuration's figures over the slices it ran."""
    wall = [w for p in parts for w in p["wall"]]
    cpu = [c for p in parts for c in p["cpu"]]
    right = {k: sum(p["right"][k] for p in parts) for k in parts[0]["right"]}
    scored = {k: sum(p["scored"][k] for p in parts) for k in parts[0]["scored"]}
    return {
        "n": len(wall),
        "p50": statistics.median(wall),
        "p90": statistics.quantiles(wall, n=10)[-1] if len(wall) >= 10 else max(wall),
        "cpu_p50": statistics.median(cpu),
        "rss_loaded": max(p["rss_loaded"] for p in parts),
        "rss_peak": max(p["rss_peak"] for p in parts),
        **{name: right[name] / scored[name] if scored[name] else None for name in right},
    }


def breakdown(data: Path, limit: int) -> None:
    """Per photo and in total: seconds spent in each stage, reads (one per orientation tried) and OCR passes (a read
    is one page pass, plus one when the header is read again), for this process's settings."""
    from bench.extraction import IMAGE_SUFFIXES
    from chalicelib.extraction import service
    from chalicelib.extraction.ocr_engine import default_engine

    files = sorted(p for p in data.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.with_suffix(".json").exists())
    files = files[:limit] if limit else files
    engine = default_engine()
    engine.read(_blank())
    spent: dict[str, float] = {}

    def timed(name: str, fn):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
        return run

    class Proxy:
        """The loaded faster-paddle model, timed: a read's first OCR is the page pass, a second one the header."""

        def __init__(self, model) -> None:
            self.model, self.reads, self.passes, self.first = model, 0, 0, True

        def prepare(self, data, **kwargs):
            return timed("deskew", self.model.prepare)(data, **kwargs)

        def ocr(self, data, **kwargs):
            self.passes += 1
            name, self.first = ("page_ocr" if self.first else "header_ocr"), False
            return timed(name, self.model.ocr)(data, **kwargs)

    model, original_read, load = engine._load(), engine.read, service.load_document
    proxy = Proxy(model)

    def read(image, page=1):
        proxy.reads += 1
        proxy.first = True
        return original_read(image, page)

    engine._engine, engine.read, service.load_document = proxy, read, timed("decode", load)
    totals: dict[str, float] = {}
    try:
        print(f"{'photo':42} {'wall':>5} {'reads':>5} {'passes':>6}  seconds per stage")
        for path in files:
            spent.clear()
            proxy.reads = proxy.passes = 0
            start = time.perf_counter()
            service.extract_document_detailed(path.read_bytes(), path.name, engine=engine)
            wall = time.perf_counter() - start
            spent["rest"] = wall - sum(spent.values())  # parsing, resolving, cropping and image copies
            for name, seconds in [*spent.items(), ("wall", wall)]:
                totals[name] = totals.get(name, 0.0) + seconds
            stages = " ".join(f"{name} {seconds:.2f}" for name, seconds in spent.items())
            print(f"{path.name[:42]:42} {wall:>5.2f} {proxy.reads:>5} {proxy.passes:>6}  {stages}", flush=True)
    finally:
        engine._engine, engine.read, service.load_document = model, original_read, load
    n = max(1, len(files))
    print("mean per photo: " + " ".join(f"{name} {seconds / n:.3f}" for name, seconds in totals.items()))


def _blank():
    from PIL import Image

    return Image.new("RGB", (64, 64), "white")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma-separated, of: {', '.join(CONFIGS)}")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved slices of the photos (default 4)")
    parser.add_argument("--breakdown", action="store_true", help="time each stage per photo (this environment)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.data, args.limit, args.rounds, args.part)))
        return 0
    if not args.data.is_dir():
        print(f"bench.ocr_speed skipped: {args.data} is absent", file=sys.stderr)
        return 0
    if args.breakdown:
        breakdown(args.data, args.limit)
        return 0
    from chalicelib.extraction.documents import MAX_LONG_SIDE
    from chalicelib.extraction.ocr_engine import (
        DEFAULT_DET_MAX_SIDE,
        DEFAULT_HEADER_SHARE,
        DEFAULT_MODEL_SIZE,
        DEFAULT_REC_BATCH,
        DESKEW,
        HEADER_WHEN,
    )

    names = args.configs.split(",")
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
    print(f"after = model {DEFAULT_MODEL_SIZE}, {DESKEW} deskew, page detection at {DEFAULT_DET_MAX_SIDE} px, "
          f"header share {DEFAULT_HEADER_SHARE} read again ({HEADER_WHEN}), recognition batch {DEFAULT_REC_BATCH}, "
          f"photos downscaled to {MAX_LONG_SIDE} px; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}, {args.rounds} rounds")
    clean = {k: v for k, v in os.environ.items() if k not in KNOBS}
    parts: dict[str, list[dict]] = {name: [] for name in names}
    failed: dict[str, str] = {}
    for part in range(args.rounds):
        for name in names:
            if name in failed:
                continue
            out = subprocess.run(
                [sys.executable, "-m", "bench.ocr_speed", "--data", str(args.data), "--limit", str(args.limit),
                 "--rounds", str(args.rounds), "--part", str(part), "--child", name],
                env={**clean, **CONFIGS[name]}, capture_output=True, text=True, check=False,
            )
            if out.returncode != 0:
                failed[name] = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else str(out.returncode)
                continue
            parts[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'config':11} {'n':>3} {'p50 s':>6} {'p90 s':>6} {'cpu p50':>7} {'rss load':>8} {'rss peak':>8} "
          f"{'total':>6} {'date':>6} {'curr':>6} {'vendor':>6}")
    for name in names:
        if name in failed:
            print(f"{name:11} failed: {failed[name]}")
            continue
        r = summary(parts[name])
        print(f"{name:11} {r['n']:>3} {r['p50']:>6.2f} {r['p90']:>6.2f} {r['cpu_p50']:>7.2f} {r['rss_loaded']:>8.0f} "
              f"{r['rss_peak']:>8.0f} {_pct(r['total'])} {_pct(r['date'])} {_pct(r['currency'])} {_pct(r['vendor'])}",
              flush=True)
    return 0


def _pct(x: float | None) -> str:
    return f"{x:>6.3f}" if x is not None else f"{'-':>6}"


if __name__ == "__main__":
    sys.exit(main())
