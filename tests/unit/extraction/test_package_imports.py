"""The light parts of the package import without the OCR stack (zip-packaged Lambdas do not ship it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]

_BLOCK_HEAVY = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"PIL", "pypdfium2", "faster_paddle", "trp"}:
            raise ImportError(f"blocked heavy import: {name}")
        return None
sys.meta_path.insert(0, _Block())
from chalicelib.extraction import ExtractionError
from chalicelib.extraction.models import ExtractedReceipt
from chalicelib.extraction.privacy import mask_personal_data
assert mask_personal_data("Tel: 2461 9838") == "Tel: [PHONE]"
print("ok")
"""


def test_models_and_masking_import_without_pillow_or_ocr() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _BLOCK_HEAVY], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_lazy_functions_resolve() -> None:
    import chalicelib.extraction as extraction

    assert callable(extraction.extract_document)
    assert callable(extraction.parse_textract_response)
