"""Command line: ``python -m chalicelib.cli extract FILE...`` and ``parse-textract RESPONSE.json``.

Prints one JSON object per input on stdout (the DESIGN.md shape). A file that cannot be read prints an object
with an ``error`` and the process exits 1 at the end, after handling every other file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _emit(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _cmd_extract(files: list[str]) -> int:
    from chalicelib.extraction import ExtractionError, extract_document

    status = 0
    for name in files:
        try:
            data = Path(name).read_bytes()
            _emit(extract_document(data, Path(name).name).to_cli_json(name))
        except ExtractionError as exc:
            _emit({"file": name, "error": exc.reason})
            status = 1
        except OSError as exc:
            _emit({"file": name, "error": f"cannot read file: {exc.strerror or exc}"})
            status = 1
    return status


def _cmd_parse_textract(files: list[str]) -> int:
    from chalicelib.extraction import ExtractionError, parse_textract_response

    status = 0
    for name in files:
        try:
            resp = json.loads(Path(name).read_text(encoding="utf-8"))
            _emit(parse_textract_response(resp).to_cli_json(name))
        except ExtractionError as exc:
            _emit({"file": name, "error": exc.reason})
            status = 1
        except (OSError, ValueError) as exc:
            _emit({"file": name, "error": f"cannot read JSON: {exc}"})
            status = 1
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_extract = sub.add_parser("extract", help="read receipts (PNG, JPEG, PDF) with the offline OCR")
    p_extract.add_argument("files", nargs="+", metavar="FILE")
    p_parse = sub.add_parser(
        "parse-textract", help="the same JSON from saved Textract AnalyzeExpense responses"
    )
    p_parse.add_argument("files", nargs="+", metavar="RESPONSE.json")
    args = parser.parse_args(argv)
    if args.command == "extract":
        return _cmd_extract(args.files)
    return _cmd_parse_textract(args.files)


if __name__ == "__main__":
    sys.exit(main())
