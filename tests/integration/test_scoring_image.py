"""The anomaly functions' container image (infra/Dockerfile.scoring): what the template wires to it and what the
Dockerfile installs. `docker build` is not run here (no Docker in the test environment); the same checks its
RUN lines make are made on this venv instead: the handlers import without the OCR packages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from infra import template as t

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "infra" / "Dockerfile.scoring"
OCR_PACKAGES = ("faster-paddle", "pypdfium2", "pillow-heif", "amazon-textract-response-parser")
OCR_MODULES = ("faster_paddle", "pypdfium2", "pillow_heif", "trp")


def _scoring_requirements(requirements: str) -> list[str]:
    """What the Dockerfile's sed keeps: requirements.txt without its extraction section, Pillow excepted."""
    kept, inside = [], False
    for line in requirements.splitlines():
        if line.startswith("# --- extraction"):
            inside = True
        if not inside or line.startswith("pillow=="):
            kept.append(line)
        if line.startswith("# --- end extraction ---"):
            inside = False
    return kept


def _pins(lines: list[str]) -> set[str]:
    return {re.split(r"[=<>\[]", line)[0].strip() for line in lines if line.strip() and not line.startswith("#")}


def test_the_scorer_and_the_retrain_run_from_the_scoring_image_and_the_ocr_from_its_own():
    assert t.image_of("score_claim") == ("infra/Dockerfile.scoring", "ScoringImageUri")
    assert t.image_of("retrain_anomaly") == ("infra/Dockerfile.scoring", "ScoringImageUri")
    assert t.image_of("extract_receipt") == ("infra/Dockerfile.extraction", "ExtractionImageUri")
    parameters = t.build("dev")["Parameters"]
    assert {"ScoringImageUri", "ExtractionImageUri"} <= set(parameters)
    assert "Dockerfile.scoring" in parameters["ScoringImageUri"]["Description"]
    for dockerfile, _, _ in t.IMAGES.values():
        assert (ROOT / dockerfile).is_file() and (ROOT / f"{dockerfile}.dockerignore").is_file()


def test_the_scoring_image_installs_the_runtime_pins_without_the_ocr_packages():
    text = DOCKERFILE.read_text(encoding="utf-8")
    sed = "sed '/^# --- extraction/,/^# --- end extraction ---/{/^pillow==/!d}' requirements.txt"
    assert sed in text and "-r requirements-scoring.txt" in text and "--only-binary=:all:" in text
    assert 'CMD ["app.score_claim"]' in text and "awslambdaric" in text
    assert all(f"COPY {part}" in text for part in ("app.py", "chalicelib", "functions"))
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    kept = _pins(_scoring_requirements(requirements))
    assert {"scikit-learn", "pillow", "pydantic", "pynamodb", "aws-lambda-powertools", "holidays"} <= kept
    assert not kept & set(OCR_PACKAGES)
    assert kept == _pins(requirements.splitlines()) - set(OCR_PACKAGES)  # nothing else is left out


_WITHOUT_OCR = """
import importlib.abc, sys
class NoOcr(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {names!r}:
            raise ImportError(name + " is not in the scoring image")
sys.meta_path.insert(0, NoOcr())
import app, functions.retrain_anomaly as r
assert callable(app.score_claim) and callable(r.handler)
print("ok")
"""


def test_the_handlers_import_without_the_ocr_packages():
    """The Dockerfile's last RUN line, here: importing either handler never reaches an OCR package."""
    out = subprocess.run([sys.executable, "-c", _WITHOUT_OCR.format(names=set(OCR_MODULES))], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env=os.environ)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
