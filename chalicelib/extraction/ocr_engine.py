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

from .models import BoundingBox, ExtractionError, OcrLine

logger = logging.getLogger(__name__)

DEFAULT_MODEL_SIZE = os.environ.get("OCR_MODEL_SIZE", "small")
DEFAULT_THREADS = int(os.environ.get("OCR_THREADS", "2"))
#: Text detection runs on the page scaled so its long side is at most this (faster-paddle's own default is 1600);
#: recognition batches this many text boxes per ONNX call. bench/ocr_speed.py measures the choices side by side.
DEFAULT_DET_MAX_SIDE = int(os.environ.get("OCR_DET_MAX_SIDE", "1600"))
DEFAULT_REC_BATCH = int(os.environ.get("OCR_REC_BATCH", "1"))


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
    ) -> None:
        if model_size not in ("tiny", "small"):
            # "medium" downloads its weights on first use, which is not allowed at run time.
            raise ValueError(f"model_size {model_size!r} is not bundled in the wheel; use 'tiny' or 'small'")
        self.model_size = model_size
        self.threads = threads
        # Straighten the page first (Canny + Hough, ~0.1 s): the boxes are axis-aligned, so on a tilted photo
        # a label and its amount only share a row after deskewing.
        self.deskew = deskew
        self.det_max_side = det_max_side
        self.rec_batch = rec_batch
        self._engine: Any = None

    def _load(self) -> Any:
        self._engine = _shared_model(self.model_size, self.threads, self.det_max_side, self.rec_batch)
        return self._engine

    def read(self, image: Image.Image, page: int = 1) -> list[OcrLine]:
        engine = self._engine or self._load()
        buf = io.BytesIO()
        # lossless (thin thermal-print strokes survive) and ~20x faster to write than PNG; already downscaled
        image.save(buf, format="BMP")
        data = buf.getvalue()
        width, height = image.size
        try:
            if self.deskew:
                data = engine.prepare(data, deskew=True)
                width, height = _png_size(data) or (width, height)
            result = engine.ocr(data)
        except (ValueError, RuntimeError, OSError) as exc:  # the Rust extension reports bad input this way
            logger.warning("OCR failed on page %d: %s", page, exc)
            raise ExtractionError(
                "The receipt image could not be read; please upload a clearer photo."
            ) from exc
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
