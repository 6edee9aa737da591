"""Request bodies checked against a vendor's published OpenAPI component schemas before they are sent.

Why an extract committed beside the code rather than the vendor's YAML: the Xero Accounting spec is 0.9 MB of
YAML (and PyYAML is not a Lambda dependency); the schemas a posting needs (Invoices, ManualJournals, Attachments,
Error and everything they reference) are 60 KB of JSON. `extract()` regenerates the file from the published
spec and a test checks the committed file still equals it.

Two rules beyond the published schemas, for request bodies only: an object may not carry a property its schema
does not name (a misspelt `Referance` would otherwise be silently ignored by the vendor), nor one the schema marks
`readOnly` (totals, statuses the vendor computes). Numbers may be Decimal (never float): jsonschema counts
Decimal as a number.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from jsonschema import Draft4Validator

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


def _refs(node: object, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value.rsplit("/", 1)[-1])
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def extract(spec_path: Path, roots: Iterable[str]) -> dict:
    """The named component schemas and every schema they reference, with where they came from."""
    import yaml  # dev dependency: only regenerating the extract needs it

    raw = spec_path.read_bytes()
    spec = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (a safe loader)
    schemas = spec["components"]["schemas"]
    todo, kept = list(roots), {}
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept[name] = schemas[name]
        found: set[str] = set()
        _refs(schemas[name], found)
        todo.extend(sorted(found - kept.keys()))
    return json.loads(json.dumps({
        "source": {"title": spec["info"]["title"], "version": spec["info"]["version"], "file": spec_path.name,
                   "sha256": hashlib.sha256(raw).hexdigest()},
        "components": {"schemas": dict(sorted(kept.items()))},
    }, default=str))


def _close(node: object) -> object:
    """Objects accept only the properties their schema names and does not mark readOnly."""
    if isinstance(node, dict):
        node = {key: _close(value) for key, value in node.items()}
        props = node.get("properties")
        if isinstance(props, dict):
            node["properties"] = {k: v for k, v in props.items() if not (isinstance(v, dict) and v.get("readOnly"))}
            node.setdefault("additionalProperties", False)
        return node
    if isinstance(node, list):
        return [_close(value) for value in node]
    return node


class SchemaSet:
    """Validators for the component schemas of one vendor extract."""

    def __init__(self, document: dict, *, requests_only: bool = True):
        self.source = document["source"]
        components = copy.deepcopy(document["components"])
        self._root = {"components": _close(components) if requests_only else components}

    def errors(self, component: str, body: object) -> list[str]:
        """Every way `body` breaks the component schema, as `path: message` (empty when it conforms)."""
        validator = Draft4Validator({**self._root, "$ref": f"#/components/schemas/{component}"})
        found = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        return [f"{'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}"[:300] for e in found]


@cache
def load(name: str, *, requests_only: bool = True) -> SchemaSet:
    """A committed extract, e.g. load("xero_accounting") for schemas/xero_accounting_components.json."""
    document = json.loads((SCHEMA_DIR / f"{name}_components.json").read_text())
    return SchemaSet(document, requests_only=requests_only)


if __name__ == "__main__":  # python -m chalicelib.adapters.ledgers.openapi SPEC.yaml NAME ROOT...
    import sys

    spec, name, *roots = sys.argv[1:]
    out = SCHEMA_DIR / f"{name}_components.json"
    out.write_text(json.dumps(extract(Path(spec), roots), indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{out}: {out.stat().st_size} bytes")
