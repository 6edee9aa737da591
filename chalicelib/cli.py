"""Command line: ``python -m chalicelib.cli extract FILE...``, ``parse-textract RESPONSE.json`` and
``audit-export --from YYYY-MM-DD --to YYYY-MM-DD [--claim ID] --out DIR_OR_ZIP``; ``ir56b --year 2026``.

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


def _cmd_audit_export(start: str, end: str, claim_id: str | None, out: str) -> int:
    """The auditor's bundle for the stage in the environment (STAGE, table and bucket names, as a Lambda has
    them), run with the operator's own AWS credentials; the export is itself an audit record."""
    import getpass
    import socket
    from datetime import UTC, date, datetime

    from chalicelib import bootstrap
    from chalicelib.domain.identity import Principal, Role
    from chalicelib.services.audit_export import export_bundle

    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        _emit({"error": f"dates are YYYY-MM-DD: {exc}"})
        return 2
    c = bootstrap.container()
    try:
        summary = export_bundle(c.audit_export_sources, first, last, Path(out), claim_id)
    except (LookupError, ValueError, FileExistsError) as exc:
        _emit({"error": str(exc)})
        return 1
    operator = Principal(user_id=f"cli:{getpass.getuser()}", employee_id="", department_id="",
                         roles=frozenset({Role.AUDITOR}), source_ip=socket.gethostname(),
                         user_agent="python -m chalicelib.cli audit-export")
    c.audit.event("EXPORT", datetime.now(UTC), operator, "audit.exported",
                  {"from": start, "to": end, "claim_id": claim_id, "records": summary.records,
                   "bytes": summary.bytes}, resource=f"audit-export {start}..{end}")
    _emit({"bundle": str(summary.path), "records": summary.records, "chains": summary.chains,
           "seals": summary.seals, "receipts": summary.receipts, "bytes": summary.bytes})
    return 0


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
    p_audit = sub.add_parser("audit-export", help="the auditor's bundle: records, seals, receipts, signatures, "
                             "keys, a signed manifest and the offline verifier")
    p_audit.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    p_audit.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    p_audit.add_argument("--claim", dest="claim_id")
    p_audit.add_argument("--out", required=True, metavar="DIR_OR_ZIP")
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
    if args.command == "audit-export":
        return _cmd_audit_export(args.start, args.end, args.claim_id, args.out)
    if args.command == "extract":
        return _cmd_extract(args.files)
    if args.command == "ir56b":
        return _cmd_ir56b(args.year, args.show_hkid, args.employer_file_no)
    return _cmd_parse_textract(args.files)


if __name__ == "__main__":
    sys.exit(main())
