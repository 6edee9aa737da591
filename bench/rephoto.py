"""The same paper receipt re-photographed: precision and recall of the `duplicate_rephotographed` rule.

``python -m bench.rephoto --seed N [--per-layout K] [--photos P]`` renders ``K`` receipts of every layout of
``tools.hk_layouts`` (seed ``N``), photographs each ``P`` times as different phones would (the desk photo's own
perspective, light, shadow, glare and background, plus a crop, a tilt of up to ±6°, a resolution of 45-100%, a
JPEG quality of 40-92, sometimes stored sideways with an EXIF tag), and compares every pair of photos of one layout:
pairs of one receipt must match, pairs of two receipts of the same layout (often the same vendor) must not.

What the rule sees besides the hash is what OCR reads, with its slips simulated per photo: the vendor garbled
(15%), the total (10%) or the date (10%) not read, the printed lines read with 1% of characters wrong and 3% of
lines lost (for the SimHash of the numbers, chalicelib.extraction.text_hash). Printed lines, one ``name: value`` each:
- ``hash.same.p50/p95/max`` and ``hash.other.min/p05``: Hamming distances of re-photographs and of other receipts;
- ``hash.precision`` / ``hash.recall``: the image hash alone at the rule's threshold;
- ``rule.precision`` / ``rule.recall``: the rule (hash + the read total/date/receipt number/numbers' SimHash not
  contradicting), comparing every pair as the history does;
- ``band.recall``: the share of re-photograph pairs that share one of the eight 8-bit bands (what the DynamoDB
  band indexes find across departments; the claims history compares every pair);
- ``hash_ms.p50`` / ``hash_ms.p95``: hash time per decoded image.
Seeds below 9000 were used to tune (``image_hash`` and ``REPHOTO_DISTANCE``); score on 9000 and above.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from PIL import Image

from chalicelib.domain.anomaly import duplicates
from chalicelib.domain.anomaly.records import SpendRecord
from chalicelib.domain.money import Money
from chalicelib.extraction.documents import decode_image
from chalicelib.extraction.image_hash import distance, receipt_hash
from chalicelib.extraction.text_hash import text_hash
from tools import hk_layouts as layouts

EXIF_ORIENTATION_TAG = 0x0112


@dataclass
class Photo:
    layout: str
    receipt: int  # which paper
    record: SpendRecord
    hash: str | None
    ms: float


def rephotograph(paper: Image.Image, rng: random.Random) -> bytes:
    """One phone's photo of the slip, as JPEG bytes (sometimes stored sideways with its EXIF tag)."""
    photo = layouts.desk_photo(paper, rng)
    w, h = photo.size
    cx, cy = rng.uniform(0, 0.05), rng.uniform(0, 0.04)  # crop some of the desk off one side or another
    photo = photo.crop((int(w * cx), int(h * cy), int(w * (1 - rng.uniform(0, 0.05))),
                        int(h * (1 - rng.uniform(0, 0.04)))))
    photo = photo.rotate(rng.uniform(-6, 6), Image.Resampling.BICUBIC, expand=True, fillcolor=(60, 60, 60))
    scale = rng.uniform(0.45, 1.0)
    photo = photo.resize((int(photo.width * scale), int(photo.height * scale)), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    orientation = rng.choice([1, 1, 1, 6, 8, 3])
    if orientation == 1:
        photo.save(buf, format="JPEG", quality=rng.randint(40, 92))
    else:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION_TAG] = orientation
        photo.transpose(layouts.STORE_TURNED[orientation]).save(buf, format="JPEG", quality=rng.randint(40, 92),
                                                                 exif=exif.tobytes())
    return buf.getvalue()


def read_as_ocr(printed: layouts.Printed, receipt_no: str, rng: random.Random, expense_id: str) -> SpendRecord:
    """What extraction would store, with its slips: a garbled vendor, a missing total or date."""
    vendor = printed.vendor
    if rng.random() < 0.15:
        vendor = vendor[: max(2, len(vendor) // 2)] + "?"
    total = Money(amount=printed.total, currency=printed.currency) if rng.random() >= 0.10 else None
    day: date | None = printed.date if rng.random() >= 0.10 else None
    lines = ["".join(ch if rng.random() >= 0.01 else rng.choice("0123456789abcdefghijklmnopqrstuvwxyz口日")
                     for ch in " ".join(row.cells)) for row in printed.rows if rng.random() >= 0.03]
    return SpendRecord(expense_id=expense_id, claim_id=f"c-{expense_id}", employee_id="u-1",
                       submitted_at=datetime(2026, 1, 1, tzinfo=UTC), vendor=vendor, receipt_date=day, total=total,
                       total_hkd=printed.total, receipt_no=receipt_no, text_hash=text_hash(lines))


def photos(seed: int, per_layout: int, per_receipt: int) -> list[Photo]:
    out = []
    for layout in layouts.LAYOUTS:
        for index in range(per_layout):
            printed = layouts.make(layout, seed, index)
            rng = random.Random(f"rephoto:{seed}:{layout}:{index}")
            paper = layouts.render(printed, rng.choice(layouts.faces_for(printed.script)))
            # receipts of a layout carry their own number only sometimes (a taxi slip prints none)
            number = f"{rng.randint(10000, 99999)}" if rng.random() < 0.5 else None
            for shot in range(per_receipt):
                data = rephotograph(paper, rng)
                image = decode_image(data)
                start = time.perf_counter()
                digest = receipt_hash(image)
                ms = (time.perf_counter() - start) * 1000
                record = read_as_ocr(printed, number, rng, f"{layout}-{index}-{shot}")
                out.append(Photo(layout, index, record, digest, ms))
    return out


def run(seed: int, per_layout: int = 4, per_receipt: int = 3, threshold: int | None = None) -> dict[str, float]:
    threshold = duplicates.REPHOTO_DISTANCE if threshold is None else threshold
    shots = photos(seed, per_layout, per_receipt)
    same, other = [], []
    tp = fp = fn = htp = hfp = hfn = banded = 0
    for i, a in enumerate(shots):
        for b in shots[i + 1:]:
            if a.layout != b.layout:
                continue
            d = distance(a.hash, b.hash) if a.hash and b.hash else 64
            truth = a.receipt == b.receipt
            (same if truth else other).append(d)
            near = d <= threshold
            fired = near and not duplicates.contradicts(a.record, b.record)
            shared = bool(a.hash and b.hash and set(duplicates.bands(a.hash)) & set(duplicates.bands(b.hash)))
            banded += truth and shared
            htp += near and truth
            hfp += near and not truth
            hfn += truth and not near
            tp += fired and truth
            fp += fired and not truth
            fn += truth and not fired
    same.sort()
    other.sort()
    times = sorted(p.ms for p in shots)
    return {
        "photos": len(shots), "pairs.same": len(same), "pairs.other": len(other), "threshold": threshold,
        "hash.same.p50": statistics.median(same), "hash.same.p95": same[int(0.95 * (len(same) - 1))],
        "hash.same.max": same[-1], "hash.other.min": other[0], "hash.other.p05": other[int(0.05 * (len(other) - 1))],
        "hash.precision": htp / (htp + hfp) if htp + hfp else 1.0, "hash.recall": htp / (htp + hfn),
        "band.recall": banded / len(same),
        "rule.precision": tp / (tp + fp) if tp + fp else 1.0, "rule.recall": tp / (tp + fn),
        "hash_ms.p50": statistics.median(times), "hash_ms.p95": times[int(0.95 * (len(times) - 1))],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=9000, help="< 9000 tune; 9000 and above score")
    parser.add_argument("--per-layout", type=int, default=4)
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--threshold", type=int, default=None)
    args = parser.parse_args(argv)
    for name, value in run(args.seed, args.per_layout, args.photos, args.threshold).items():
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
