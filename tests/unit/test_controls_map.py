"""docs/controls.md names the test that proves each control: a renamed or deleted test must fail here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTROLS = ROOT / "docs" / "controls.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def _defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        names |= {f"{cls.name}::{n.name}" for n in cls.body if isinstance(n, ast.FunctionDef)}
    return names


def references(text: str) -> list[tuple[str, str | None]]:
    return REFERENCE.findall(text)


def missing(text: str, root: Path = ROOT) -> list[str]:
    out = []
    for file, name in references(text):
        path = root / file
        if not path.is_file():
            out.append(file)
        elif name and name not in _defined_tests(path):
            out.append(f"{file}::{name}")
    return out


def test_every_mapped_test_exists():
    text = CONTROLS.read_text(encoding="utf-8")
    assert len(references(text)) >= 40
    assert missing(text) == []


def test_a_renamed_test_is_caught(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_kept():\n    assert True\n")
    text = "`tests/test_x.py::test_kept` `tests/test_x.py::test_renamed` `tests/test_gone.py`"
    assert missing(text, tmp_path) == ["tests/test_x.py::test_renamed", "tests/test_gone.py"]


def test_each_framework_has_its_section_and_the_gaps_are_listed():
    text = CONTROLS.read_text(encoding="utf-8")
    for heading in ("ISO/IEC 27001:2022 Annex A", "SOC 2", "PDPO", "SFC", "HKMA", "Gaps"):
        assert re.search(rf"^## .*{re.escape(heading)}", text, re.M), heading
