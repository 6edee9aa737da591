"""Command line: ``python -m chalicelib.cli extract FILE...``, ``parse-textract RESPONSE.json`` and
``audit-export --from YYYY-MM-DD --to YYYY-MM-DD [--claim ID] --out DIR_OR_ZIP``.

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
    args = parser.parse_args(argv)
    if args.command == "audit-export":
        return _cmd_audit_export(args.start, args.end, args.claim_id, args.out)
    if args.command == "extract":
        return _cmd_extract(args.files)
    return _cmd_parse_textract(args.files)


if __name__ == "__main__":
    sys.exit(main())
