"""QuickBooks Online JSON checked against Intuit's published V3 XML schemas before it is sent.

QBO's JSON is its XSD's elements written as JSON: the same names and nesting, a reference (`ReferenceType`, XML
text with `name`/`type` attributes) written `{"value": ..., "name": ...}`. So a body is mapped to xmlschema's
dict form (text as `$`, attributes as `@name`) and encoded against the schema element (`Bill`, `JournalEntry`),
order-free, collecting every error: an unknown element or attribute, a value outside its type or enumeration,
a required element missing. The XSD is laxer than the service (VendorRef is optional there, required by QBO for
a Bill): the builders enforce what the service requires on top. The XSDs (schemas/quickbooks_v3/, Intuit's V3
schema files, copied unchanged) load in about 1.5 s, once per container.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

import xmlschema

QBO_NS = "http://schema.intuit.com/finance/v3"
QBO_XSD = Path(__file__).resolve().parent / "schemas" / "quickbooks_v3" / "IntuitRestServiceDef.xsd"


@cache
def quickbooks_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(QBO_XSD))


def to_xsd_dict(node: object) -> object:
    """QBO JSON -> xmlschema's dict form."""
    if isinstance(node, dict):
        if "value" in node and not any(isinstance(v, dict | list) for v in node.values()):
            # a reference: any key but value is an attribute, so one the XSD does not declare is refused
            return {"$": to_xsd_dict(node["value"]), **{f"@{k}": to_xsd_dict(v) for k, v in node.items()
                                                        if k != "value"}}
        return {k: to_xsd_dict(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_xsd_dict(v) for v in node]
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, Decimal):
        return format(node, "f")
    if isinstance(node, float):
        raise TypeError("a float in a ledger payload: money is Decimal")
    return node if isinstance(node, str) else str(node)


def quickbooks_errors(entity: str, body: dict) -> list[str]:
    """Every way `body` breaks the QBO V3 schema of `entity` (empty when it conforms)."""
    element = quickbooks_schema().elements[entity]
    result = element.encode(to_xsd_dict(body), validation="lax", unordered=True, namespaces={"": QBO_NS})
    errors = result[1] if isinstance(result, tuple) else []
    return [f"{entity}: {getattr(e, 'reason', None) or e}"[:300] for e in errors]
