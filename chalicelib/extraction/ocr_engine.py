"""The OCR port and its offline faster-paddle adapter.

Why a protocol: the service only needs "image in, positioned text lines out", so tests can pass a fake engine,
and a different backend (another ONNX model, a Textract adapter outside this package) can replace
faster-paddle without touching the parsing rules. The faster-paddle model (PP-OCR small, bundled inside the
wheel, so no download at run time) is loaded lazily once per process: a warm Lambda reuses it across
invocations.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from typing import Any, Protocol, runtime_checkable

from PIL import Image

from .image_hash import ink_map, tilt
from .models import BoundingBox, ExtractionError, OcrLine

logger = logging.getLogger(__name__)

DEFAULT_MODEL_SIZE = os.environ.get("OCR_MODEL_SIZE", "small")
DEFAULT_THREADS = int(os.environ.get("OCR_THREADS", "2"))
#: Text detection runs on the page scaled so its long side is this (faster-paddle's own default is 1600, which
#: costs twice the CPU: detection grows with the pixels, and on a 2000 px photo it was over half the time);
#: recognition batches this many text boxes per ONNX call. bench/ocr_speed.py measures the choices side by side.
#: 800 alone keeps every total and date of the real photos but loses small vendor names, which the header's second
#: read (below) brings back.
DEFAULT_DET_MAX_SIDE = int(os.environ.get("OCR_DET_MAX_SIDE", "800"))
DEFAULT_REC_BATCH = int(os.environ.get("OCR_REC_BATCH", "1"))
#: Share of the text's height (from its top) read a second time on its own, so it is detected at a higher scale
#: than the whole page: the vendor's name and address are small print at the top of a receipt, and a coarse
#: detection of the whole page misses or merges them. 0 turns the second read off.
DEFAULT_HEADER_SHARE = float(os.environ.get("OCR_HEADER_SHARE", "0.2"))
#: The header is only read again when that detects it at least this many times finer than the page pass did.
HEADER_MIN_GAIN = 1.2
#: ... and, with OCR_HEADER_WHEN=coarse (the default), only when the page pass read the header coarsely: its
#: lines' median height at the detector's scale is under ``HEADER_SMALL_PX`` px, or their mean confidence is under
#: ``HEADER_UNSURE``. A header the page pass already saw large and clearly is not read again (~0.25 s saved on most
#: photos); "always" reads every header again.
HEADER_WHEN = os.environ.get("OCR_HEADER_WHEN", "coarse")
HEADER_SMALL_PX = 16.0
HEADER_UNSURE = 0.9
#: ... and at most at its own resolution (a narrow crop is padded rather than enlarged: the detector's cost grows
#: with its input, and enlarging adds no detail).
HEADER_MAX_SCALE = 1.0
#: The region starts this many line heights above the first line read: a logo or a big name above the text is
#: what a coarse detection misses most.
HEADER_LINES_ABOVE = 4
#: A page whose long side is under this many pixels (a small scan, a screenshot, a rendered receipt) is read as two
#: overlapping halves instead (see ``page_tiles``); the halves overlap by this share of the long side. 0 = never.
TILE_BELOW = int(os.environ.get("OCR_TILE_BELOW", "1600"))
TILE_OVERLAP = 0.06
#: How a tilted page is straightened before detection: "rust" (faster-paddle's own Canny + Hough deskew of the
#: full page, returned as a PNG: ~200 ms), "ink" (the text rows' tilt measured on a 640 px ink map,
#: ``image_hash.tilt``, then one rotation in Pillow: ~40 ms) or "off". "ink" is 0.2 s of CPU faster per photo but
#: read one vendor name fewer of the real photos (bench/ocr_speed.py, config ``inkdeskew``), so it is not the
#: default.
DESKEW = os.environ.get("OCR_DESKEW", "rust")


#: A piece of a page: its pixel box and the stretch of the page's long axis whose lines it reports.
Tile = tuple[tuple[int, int, int, int], tuple[float, float]]

#: Loaded faster-paddle models by their settings: one per process however many adapters are created, because
#: each holds ~300-600 MB of ONNX sessions.
_MODELS: dict[tuple[str, int, int, int], Any] = {}
_MODELS_LOCK = threading.Lock()


def _shared_model(model_size: str, threads: int, det_max_side: int = DEFAULT_DET_MAX_SIDE,
                  rec_batch: int = DEFAULT_REC_BATCH) -> Any:
    key = (model_size, threads, det_max_side, rec_batch)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            import faster_paddle

            model = faster_paddle.OcrEngine(model_size=model_size, threads=threads, det_max_side=det_max_side,
                                            rec_batch=rec_batch)
            _MODELS[key] = model
            logger.info("faster-paddle %s model loaded (%d threads, detection at %d px, batches of %d)",
                        model_size, threads, det_max_side, rec_batch)
        return model


@runtime_checkable
class OcrEngine(Protocol):
    """Reads one page image and returns its text boxes (page-relative coordinates, confidence 0..1)."""

    def read(self, image: Image.Image, page: int = 1) -> list[OcrLine]: ...


class FasterPaddleEngine:
    """faster-paddle (PP-OCRv6 via Rust + ONNX Runtime), fully offline."""

    def __init__(
        self, model_size: str = DEFAULT_MODEL_SIZE, threads: int = DEFAULT_THREADS, *, deskew: bool = True,
        det_max_side: int = DEFAULT_DET_MAX_SIDE, rec_batch: int = DEFAULT_REC_BATCH,
        header_share: float = DEFAULT_HEADER_SHARE, deskew_mode: str = DESKEW,
        header_when: str = HEADER_WHEN,
    ) -> None:
        if model_size not in ("tiny", "small"):
            # "medium" downloads its weights on first use, which is not allowed at run time.
            raise ValueError(f"model_size {model_size!r} is not bundled in the wheel; use 'tiny' or 'small'")
        self.model_size = model_size
        self.threads = threads
        # Straighten the page first (see DESKEW): the boxes are axis-aligned, so on a tilted photo a label and its
        # amount only share a row after deskewing.
        self.deskew = deskew
        self.deskew_mode = deskew_mode
        self.det_max_side = det_max_side
        self.rec_batch = rec_batch
        self.header_share = header_share
        self.header_when = header_when
        self._engine: Any = None

    def _load(self) -> Any:
        self._engine = _shared_model(self.model_size, self.threads, self.det_max_side, self.rec_batch)
        return self._engine

    def read(self, image: Image.Image, page: int = 1) -> list[OcrLine]:
        engine = self._engine or self._load()
        if self.deskew and self.deskew_mode == "ink":
            image = straightened(image)  # grey, as faster-paddle's own deskew returns it
        data = _bmp(image)
        width, height = image.size
        try:
            if self.deskew and self.deskew_mode == "rust":
                data = engine.prepare(data, deskew=True)  # a grey PNG, read as it is by the page pass
                width, height = _png_size(data) or (width, height)
                image = None  # pieces are cut from the deskewed page: decoded only when one is needed
            tiles = page_tiles((width, height), TILE_BELOW)
            if tiles:
                return self._read_tiles(engine, image if image is not None else _decoded(data), tiles, page)
            lines = _lines(engine.ocr(data), (width, height), page)
            region = header_region(lines, (width, height), self.header_share)
            if region is not None and self.header_when == "coarse" and not read_coarsely(
                    lines, region, (width, height), self.det_max_side):
                region = None
            if region is not None:
                crop = _padded((image if image is not None else _decoded(data)).crop(region), self.det_max_side)
                found = _lines(engine.ocr(_bmp(crop)), crop.size, page)
                left, top = region[:2]
                padded = (left, top, left + crop.width, top + crop.height)
                lines = merge_header(lines, [_to_page(ln, padded, (width, height)) for ln in found],
                                     _relative(region, (width, height)))
        except (ValueError, RuntimeError, OSError) as exc:  # the Rust extension reports bad input this way
            logger.warning("OCR failed on page %d: %s", page, exc)
            raise ExtractionError(
                "The receipt image could not be read; please upload a clearer photo."
            ) from exc
        return lines


    def _read_tiles(self, engine: Any, image: Image.Image, tiles: list[Tile], page: int) -> list[OcrLine]:
        """Read each tile and keep the lines whose centre lies in the stripe it owns (tiles overlap, so a line cut
        by one tile's edge is whole in the other)."""
        size = image.size
        lines: list[OcrLine] = []
        for box, (start, end) in tiles:
            crop = image.crop(box)
            for line in _lines(engine.ocr(_bmp(crop)), crop.size, page):
                line = _to_page(line, box, size)
                centre = _cy(line) * size[1]
                if start <= centre < end:
                    lines.append(line)
        return sorted(lines, key=lambda ln: (round(_cy(ln), 3), ln.box.left))


def straightened(image: Image.Image) -> Image.Image:
    """The page in grey, turned by the small tilt of its text rows (``image_hash.tilt``, measured on the downscaled
    ink map) with white filling the corners; the page itself when it is level."""
    grey = image.convert("L")
    angle = tilt(ink_map(grey))
    if angle == 0:
        return grey
    return grey.rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=255)


def page_tiles(size: tuple[int, int], below: int) -> list[Tile]:
    """For a tall page whose height is under ``below`` px (a small scan, a screenshot), a top and a bottom half that
    overlap, each with the stripe of the height it owns: the detector scales its input's long side to
    ``det_max_side``, so each half is detected about twice as finely as the whole page would be, as small print
    on a small image needs. None (an empty list) for a larger or a wide page."""
    width, height = size
    long_side = max(width, height)
    if long_side >= below or long_side < 2 or width > height:
        # a wide page is read whole: cut across its width, every centred line (the vendor's name above all) would
        # come back as two pieces, one from each half
        return []
    half = long_side / 2
    overlap = int(TILE_OVERLAP * long_side) + 1
    first, second = (0, min(long_side, int(half) + overlap)), (max(0, int(half) - overlap), long_side)
    owned = [(0.0, half), (half, float(long_side) + 1)]
    boxes = [(0, first[0], width, first[1]), (0, second[0], width, second[1])]
    return list(zip(boxes, owned, strict=True))


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _bmp(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    # lossless (thin thermal-print strokes survive) and ~20x faster to write than PNG; already downscaled
    image.save(buf, format="BMP")
    return buf.getvalue()


def _lines(result: dict, size: tuple[int, int], page: int) -> list[OcrLine]:
    """faster-paddle's boxes (pixels of an image of this size) as page-relative lines, in its reading order."""
    width, height = size
    lines: list[OcrLine] = []
    for _, b in sorted(result.get("bounds", {}).items()):
        text = (b.get("text") or "").strip()
        if not text:
            continue
        (x0, y0), (x1, y1) = b["topLeftCoord"], b["bottomRightCoord"]
        box = BoundingBox(
            left=max(0.0, x0 / width),
            top=max(0.0, y0 / height),
            width=max(0.0, (x1 - x0) / width),
            height=max(0.0, (y1 - y0) / height),
        )
        conf = min(1.0, max(0.0, float(b.get("confidence", 0.0))))
        lines.append(OcrLine(text=text, confidence=conf, box=box, page=page))
    return lines


def header_region(lines: list[OcrLine], size: tuple[int, int], share: float) -> tuple[int, int, int, int] | None:
    """The pixel box (left, top, right, bottom) of the top ``share`` of the text on the page, widened by a line's
    height (``HEADER_LINES_ABOVE`` of them upwards), or None when a second read would not see it finer (no text,
    share 0, or the crop's long side is not ``HEADER_MIN_GAIN`` times shorter than the page's: the detector scales
    either one's long side to exactly ``det_max_side``, up or down)."""
    if share <= 0 or not lines:
        return None
    width, height = size
    left = min(ln.box.left for ln in lines) * width
    right = max(ln.box.left + ln.box.width for ln in lines) * width
    top = min(ln.box.top for ln in lines) * height
    bottom = max(ln.box.top + ln.box.height for ln in lines) * height
    pad = sorted(ln.box.height for ln in lines)[len(lines) // 2] * height
    box = (
        max(0, int(left - pad)), max(0, int(top - HEADER_LINES_ABOVE * pad)),
        min(width, int(right + pad + 1)), min(height, int(top + share * (bottom - top) + pad + 1)),
    )
    crop_long = max(box[2] - box[0], box[3] - box[1])
    if crop_long <= 0 or max(width, height) < HEADER_MIN_GAIN * crop_long:
        return None
    return box


def read_coarsely(lines: list[OcrLine], region: tuple[int, int, int, int], size: tuple[int, int],
                  det_max_side: int) -> bool:
    """Whether the page pass read the header ``region`` coarsely (see ``HEADER_SMALL_PX``, ``HEADER_UNSURE``): its
    lines small at the detector's scale or read unsurely, or none found there at all."""
    width, height = size
    top = [ln for ln in lines if ln.box.top * height < region[3]]
    if not top:
        return True
    scale = det_max_side / max(width, height)
    heights = sorted(ln.box.height * height * scale for ln in top)
    mean_conf = sum(ln.confidence for ln in top) / len(top)
    return heights[len(heights) // 2] < HEADER_SMALL_PX or mean_conf < HEADER_UNSURE


def _padded(crop: Image.Image, det_max_side: int) -> Image.Image:
    """The crop, with white added right or below so the detector (which scales the long side to
    ``det_max_side``) sees it at most at ``HEADER_MAX_SCALE``; coordinates inside it are unchanged."""
    long_side = max(crop.size)
    wanted = int(det_max_side / HEADER_MAX_SCALE)
    if long_side >= wanted:
        return crop
    size = (wanted, crop.height) if crop.width >= crop.height else (crop.width, wanted)
    out = Image.new(crop.mode, size, "white")
    out.paste(crop, (0, 0))
    return out


def _relative(region: tuple[int, int, int, int], size: tuple[int, int]) -> BoundingBox:
    left, top, right, bottom = region
    return BoundingBox(left=left / size[0], top=top / size[1], width=(right - left) / size[0],
                       height=(bottom - top) / size[1])


def _to_page(line: OcrLine, region: tuple[int, int, int, int], size: tuple[int, int]) -> OcrLine:
    """A line read in the crop ``region`` with its box relative to the whole page."""
    left, top, right, bottom = region
    cw, ch = right - left, bottom - top
    b = line.box
    box = BoundingBox(left=(left + b.left * cw) / size[0], top=(top + b.top * ch) / size[1],
                      width=b.width * cw / size[0], height=b.height * ch / size[1])
    return line.model_copy(update={"box": box})


def merge_header(page_lines: list[OcrLine], header_lines: list[OcrLine], region: BoundingBox) -> list[OcrLine]:
    """The page's lines with those of the header ``region`` replaced by their second, finer read.

    A header line is kept when its centre is inside the region and at least one line height above its bottom
    edge (a line the crop cut through is read whole by the page pass instead); a page line is dropped when a kept
    header line covers at least half of it, so each piece of text appears once. Page lines the second read did
    not find stay. The result is in reading order (top to bottom, then left to right)."""
    if not header_lines:
        return page_lines
    heights = sorted(ln.box.height for ln in header_lines)
    edge = region.top + region.height - heights[len(heights) // 2]
    kept = [
        ln for ln in header_lines
        if region.left <= _cx(ln) <= region.left + region.width and region.top <= _cy(ln) <= edge
    ]
    rest = [ln for ln in page_lines if not any(_covered(ln, h) >= 0.5 for h in kept)]
    return sorted(kept + rest, key=lambda ln: (round(ln.box.top + ln.box.height / 2, 3), ln.box.left))


def _cx(line: OcrLine) -> float:
    return line.box.left + line.box.width / 2


def _cy(line: OcrLine) -> float:
    return line.box.top + line.box.height / 2


def _covered(line: OcrLine, by: OcrLine) -> float:
    """Share of ``line``'s box that ``by``'s box overlaps."""
    a, b = line.box, by.box
    w = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    h = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    area = a.width * a.height
    return max(0.0, w) * max(0.0, h) / area if area > 0 else 0.0


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG header (the deskewed page may be larger than the input)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


_default_engine: FasterPaddleEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> FasterPaddleEngine:
    """The process-wide engine (created on first use; the model itself loads on the first ``read``)."""
    global _default_engine
    with _default_lock:
        if _default_engine is None:
            _default_engine = FasterPaddleEngine()
        return _default_engine
