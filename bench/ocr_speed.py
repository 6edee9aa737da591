"""Where the time and memory of reading a real photo go: OCR settings measured side by side, in one run.

``python -m bench.ocr_speed [--data DIR] [--limit N] [--configs a,b,...]`` runs the whole extraction
(documents → OCR → builder → resolver) over a labelled folder once per configuration, each in a fresh process so
its peak RSS is its own, and prints per configuration: p50 and p90 wall seconds per receipt, p50 CPU seconds
(user + system of the process, which another busy process on the machine inflates far less than wall time), peak
RSS in MB after the model load and the whole set, and the total / date / vendor exact-match accuracy, so a faster
setting that reads worse is visible at once. The first configuration is today's default ("before"); the line
``chosen:`` names the default the code ships ("after"). Wall times are only comparable within one run on a quiet
machine; the CPU figures are the steadier guide.

Knobs (environment variables the extraction code reads): OCR_MODEL_SIZE (small / tiny), OCR_THREADS,
OCR_DET_MAX_SIDE (detection input's long side), OCR_REC_BATCH (text boxes per recognition call),
OCR_MAX_LONG_SIDE (photos are downscaled to this before OCR), and faster-paddle's own OCR_MEMPAT / OCR_PREPACK
(ONNX Runtime memory pattern and weight pre-packing).
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

#: name -> environment; "before" is the code's default before this issue.
CONFIGS: dict[str, dict[str, str]] = {
    "before": {"OCR_DET_MAX_SIDE": "1600", "OCR_MAX_LONG_SIDE": "2000", "OCR_REC_BATCH": "1"},
    "det1280": {"OCR_DET_MAX_SIDE": "1280", "OCR_MAX_LONG_SIDE": "2000", "OCR_REC_BATCH": "1"},
    "det1024": {"OCR_DET_MAX_SIDE": "1024", "OCR_MAX_LONG_SIDE": "2000", "OCR_REC_BATCH": "1"},
    "long1600": {"OCR_DET_MAX_SIDE": "1600", "OCR_MAX_LONG_SIDE": "1600", "OCR_REC_BATCH": "1"},
    "batch8": {"OCR_DET_MAX_SIDE": "1600", "OCR_MAX_LONG_SIDE": "2000", "OCR_REC_BATCH": "8"},
    "nomempat": {"OCR_DET_MAX_SIDE": "1600", "OCR_MAX_LONG_SIDE": "2000", "OCR_REC_BATCH": "1", "OCR_MEMPAT": "0"},
    "tiny": {"OCR_MODEL_SIZE": "tiny", "OCR_DET_MAX_SIDE": "1600", "OCR_MAX_LONG_SIDE": "2000"},
}


def run_one(data: Path, limit: int) -> dict:
    """Inside the child process: extract every labelled receipt and measure."""
    from bench.extraction import IMAGE_SUFFIXES, field_matches
    from chalicelib.extraction import ExtractionError
    from chalicelib.extraction.ocr_engine import default_engine
    from chalicelib.extraction.service import extract_document_detailed

    files = sorted(p for p in data.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.with_suffix(".json").exists())
    if limit:
        files = files[:limit]
    engine = default_engine()
    engine.read(_blank())  # load the model outside the timings
    loaded_rss = _rss_mb()
    wall: list[float] = []
    cpu: list[float] = []
    right = dict.fromkeys(("total", "date", "vendor"), 0)
    scored = dict.fromkeys(("total", "date", "vendor"), 0)
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
    return {
        "n": len(wall),
        "p50": statistics.median(wall),
        "p90": statistics.quantiles(wall, n=10)[-1] if len(wall) >= 10 else max(wall),
        "cpu_p50": statistics.median(cpu),
        "rss_loaded": loaded_rss,
        "rss_peak": _rss_mb(),
        **{name: right[name] / scored[name] if scored[name] else None for name in right},
    }


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
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.data, args.limit)))
        return 0
    if not args.data.is_dir():
        print(f"bench.ocr_speed skipped: {args.data} is absent", file=sys.stderr)
        return 0
    from chalicelib.extraction.documents import MAX_LONG_SIDE
    from chalicelib.extraction.ocr_engine import DEFAULT_DET_MAX_SIDE, DEFAULT_MODEL_SIZE, DEFAULT_REC_BATCH

    print(f"chosen: model {DEFAULT_MODEL_SIZE}, detection at {DEFAULT_DET_MAX_SIDE} px, recognition batch "
          f"{DEFAULT_REC_BATCH}, photos downscaled to {MAX_LONG_SIDE} px; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'config':10} {'n':>3} {'p50 s':>6} {'p90 s':>6} {'cpu p50':>7} {'rss load':>8} {'rss peak':>8} "
          f"{'total':>6} {'date':>6} {'vendor':>6}")
    for name in args.configs.split(","):
        env = {**os.environ, **CONFIGS[name]}
        out = subprocess.run(
            [sys.executable, "-m", "bench.ocr_speed", "--data", str(args.data), "--limit", str(args.limit),
             "--child", name],
            env=env, capture_output=True, text=True, check=False,
        )
        if out.returncode != 0:
            print(f"{name:10} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{name:10} {r['n']:>3} {r['p50']:>6.2f} {r['p90']:>6.2f} {r['cpu_p50']:>7.2f} {r['rss_loaded']:>8.0f} "
              f"{r['rss_peak']:>8.0f} {_pct(r['total'])} {_pct(r['date'])} {_pct(r['vendor'])}", flush=True)
    return 0


def _pct(x: float | None) -> str:
    return f"{x:>6.3f}" if x is not None else f"{'-':>6}"


if __name__ == "__main__":
    sys.exit(main())
