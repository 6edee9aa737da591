"""Shared fixtures: the real Textract responses (skipped when ../shared is absent) and one OCR engine per
session."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[3]
REALDATA = PROJECT_ROOT / ".." / "shared" / "realdata"


@pytest.fixture(scope="session")
def textract_dir() -> Path:
    path = REALDATA / "textract"
    if not path.is_dir():
        pytest.skip(f"real Textract responses not found at {path} (../shared/realdata is absent)")
    return path


@pytest.fixture(scope="session")
def ocr_engine():
    from chalicelib.extraction.ocr_engine import FasterPaddleEngine

    return FasterPaddleEngine(model_size="small", threads=2)
