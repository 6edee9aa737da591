"""Command line: ``python -m chalicelib.cli extract FILE...``, ``parse-textract RESPONSE.json`` and
``ir56b --year 2026``.

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


def _cmd_ir56b(year: int, show_hkid: bool, employer_file_no: str) -> int:
    """The IR56B box 11(k) CSV of the tax year starting 1 April `year` on stdout, for the deployment the
    environment points at; the HKID masked unless asked for. Audited as an export by the command line."""
    from datetime import UTC, datetime

    from chalicelib import bootstrap
    from chalicelib.domain.identity import Principal, Role
    from chalicelib.domain.ledger_ir56b import TaxYear
    from chalicelib.services import posting

    try:
        tax_year = TaxYear(year=year)
    except ValueError:
        print(f"year {year} is not a tax year this system keeps", file=sys.stderr)
        return 2
    c = bootstrap.container()
    body, employees = posting.ir56b_export(c.posting, tax_year, show_hkid=show_hkid,
                                           employer_file_no=employer_file_no)
    operator = Principal(user_id="cli", employee_id="cli", department_id="*", roles=frozenset({Role.ADMIN}),
                         source_ip="cli")
    c.audit.event("IR56B", datetime.now(UTC), operator, "ir56b.exported", {
        "tax_year": tax_year.label, "employees": employees, "hkid": "shown" if show_hkid else "masked",
        "department": "all"})
    sys.stdout.write(body)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_extract = sub.add_parser("extract", help="read receipts (PNG, JPEG, PDF) with the offline OCR")
    p_extract.add_argument("files", nargs="+", metavar="FILE")
    p_parse = sub.add_parser(
        "parse-textract", help="the same JSON from saved Textract AnalyzeExpense responses"
    )
    p_parse.add_argument("files", nargs="+", metavar="RESPONSE.json")
    p_ir56b = sub.add_parser("ir56b", help="allowances above their non-taxable rate per employee (IR56B box 11(k))")
    p_ir56b.add_argument("--year", type=int, required=True, help="2026: the tax year 1 April 2026 - 31 March 2027")
    p_ir56b.add_argument("--show-hkid", action="store_true", help="box 3(a) in full (to file the return)")
    p_ir56b.add_argument("--employer-file-no", default="", help="box 1, as on Form BIR56A")
    args = parser.parse_args(argv)
    if args.command == "extract":
        return _cmd_extract(args.files)
    if args.command == "ir56b":
        return _cmd_ir56b(args.year, args.show_hkid, args.employer_file_no)
    return _cmd_parse_textract(args.files)


if __name__ == "__main__":
    sys.exit(main())
