"""A local Xero for tests and benchmarks: a `requests` transport adapter (no socket, no network) that answers the
Accounting API and the identity server the way Xero does, from the same spec extract the adapter validates with.

It keeps bills and manual journals (by id, found by `where` on InvoiceNumber / Narration), honours Idempotency-Key
(the same key replays the first answer, unless told to forget keys), stores attachments, and can be told to
answer the next matching requests with Xero's failures:

- `429`: Retry-After (seconds) and X-Rate-Limit-Problem headers, as Xero's rate limiter answers;
- `500`: `{"Title": ..., "Status": 500, "Detail": ...}` before doing anything;
- `timeout_after_write`: the write is stored, then the client gets a ReadTimeout (the answer was lost);
- `timeout`: ConnectTimeout, nothing done;
- `401`: the access token expires (Xero's problem-details body: "TokenExpired: token expired at ...");
- `validation`: 400 ValidationException with Xero's error body (`Elements[].ValidationErrors[].Message`).

Bodies are also checked for real: a body breaking the spec, an unknown account code, or an unbalanced journal gets
the ValidationException Xero would send.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from chalicelib.adapters.ledgers import openapi
from chalicelib.adapters.ledgers.http import dumps, loads

API = "https://api.xero.com/api.xro/2.0"
IDENTITY = "https://identity.xero.com/connect/token"
CLIENT_ID, CLIENT_SECRET = "fake-client-id", "fake-client-secret"
TENANT_ID = "3f1e6b58-0000-4000-8000-00000000beef"
ACCOUNTS = frozenset({"6110", "6120", "6130", "6140", "6190", "6195", "2150", "1250", "1260"})
WHERE_TERM = re.compile(r'^\s*(\w+)\s*==\s*"([^"]*)"\s*$')


@dataclass
class Fault:
    kind: str  # 429 | 500 | timeout_after_write | timeout | 401 | validation
    method: str | None = None  # only requests of this method (None: any)
    path: str = ""  # only paths starting with this (after /api.xro/2.0)
    times: int = 1
    retry_after: str = "2"
    problem: str = "minute"
    message: str = "Account code '9999' is not a valid code for this document."


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    status: int | None = None


@dataclass
class FakeXero(BaseAdapter):
    """Mount on a Session for https://api.xero.com and https://identity.xero.com (see `session()`)."""

    accounts: frozenset[str] = ACCOUNTS
    honour_idempotency: bool = True
    refresh_refused: bool = False
    invoices: dict[str, dict] = field(default_factory=dict)
    journals: dict[str, dict] = field(default_factory=dict)
    attachments: dict[str, dict[str, tuple[str, bytes]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=set)
    refresh_token: str = "refresh-0"
    _replies: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    _issued: int = 0

    def __post_init__(self) -> None:
        super().__init__()
        self.access_tokens.add("access-0")
        self.schemas = openapi.load("xero_accounting")

    # --- test controls -------------------------------------------------------------------------------------------
    def session(self) -> requests.Session:
        s = requests.Session()
        s.mount("https://api.xero.com/", self)
        s.mount("https://identity.xero.com/", self)
        return s

    def inject(self, kind: str, *, method: str | None = "PUT", path: str = "", times: int = 1, **options) -> None:
        self.faults.append(Fault(kind=kind, method=method, path=path, times=times, **options))

    def expire_tokens(self) -> None:
        self.access_tokens.clear()

    def writes(self, path: str = "/Invoices") -> list[Seen]:
        return [s for s in self.seen if s.method in ("PUT", "POST") and s.path == path]

    # --- the transport -------------------------------------------------------------------------------------------
    def close(self) -> None:  # pragma: no cover - nothing to release
        return None

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        parts = urlsplit(request.url)
        path = parts.path.removeprefix("/api.xro/2.0")
        seen = Seen(method=request.method, path=unquote(path), query=parse_qs(parts.query),
                    headers=dict(request.headers))
        self.seen.append(seen)
        response = self._token(request) if request.url.startswith(IDENTITY) else self._api(request, seen)
        seen.status = response.status_code
        return response

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and (fault.method is None or fault.method == method) and path.startswith(fault.path):
                fault.times -= 1
                return fault
        return None

    def _token(self, request: requests.PreparedRequest) -> requests.Response:
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = parse_qs(request.body if isinstance(request.body, str) else (request.body or b"").decode())
        if (self.refresh_refused or request.headers.get("Authorization") != f"Basic {basic}"
                or form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [self.refresh_token]):
            return _reply(request, 400, {"error": "invalid_grant"})
        self._issued += 1
        access, self.refresh_token = f"access-{self._issued}", f"refresh-{self._issued}"
        self.access_tokens.add(access)
        return _reply(request, 200, {"id_token": "", "access_token": access, "expires_in": 1800,
                                     "token_type": "Bearer", "refresh_token": self.refresh_token,
                                     "scope": "accounting.transactions accounting.attachments offline_access"})

    def _api(self, request: requests.PreparedRequest, seen: Seen) -> requests.Response:
        fault = self._fault(request.method, seen.path)
        if fault and fault.kind == "401":
            self.expire_tokens()
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        if token not in self.access_tokens:
            return _reply(request, 401, {"Type": None, "Title": "Unauthorized", "Status": 401,
                                         "Detail": f"TokenExpired: token expired at "
                                                   f"{datetime.now(UTC):%m/%d/%Y %H:%M:%S}",
                                         "Instance": str(uuid.uuid4()), "Extensions": {}},
                          {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if request.headers.get("xero-tenant-id") != TENANT_ID:
            return _reply(request, 403, {"Type": None, "Title": "Forbidden", "Status": 403,
                                         "Detail": "AuthenticationUnsuccessful", "Instance": str(uuid.uuid4()),
                                         "Extensions": {}})
        if fault and fault.kind == "429":
            return _reply(request, 429, None, {"Retry-After": fault.retry_after,
                                               "X-Rate-Limit-Problem": fault.problem})
        if fault and fault.kind == "500":
            return _reply(request, 500, {"Title": "An error occurred", "Status": 500,
                                         "Detail": "An error occurred in Xero. Check the API Status page "
                                                   "http://status.developer.xero.com for current service status."})
        if fault and fault.kind == "timeout":
            raise requests.ConnectTimeout(f"fake Xero: connect timeout on {seen.method} {seen.path}")
        if fault and fault.kind == "validation":
            return _validation(request, [fault.message])
        key = request.headers.get("Idempotency-Key")
        if key and self.honour_idempotency and key in self._replies:
            status, content = self._replies[key]
            response = _reply(request, status, None)
            response._content = content
        else:
            response = self._route(request, seen)
            if key and request.method in ("PUT", "POST") and response.status_code < 500:
                self._replies[key] = (response.status_code, response.content)
        if fault and fault.kind == "timeout_after_write":
            raise requests.ReadTimeout(f"fake Xero: read timeout after {seen.method} {seen.path} was done")
        return response

    def _route(self, request: requests.PreparedRequest, seen: Seen) -> requests.Response:
        parts = [p for p in seen.path.split("/") if p]
        collection = parts[0] if parts else ""
        store = {"Invoices": self.invoices, "ManualJournals": self.journals}.get(collection)
        if store is None:
            return _reply(request, 404, {"Title": "Not Found", "Status": 404, "Detail": seen.path})
        if len(parts) == 1 and request.method == "GET":
            return _reply(request, 200, {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": "fake",
                                         collection: _where(store.values(), seen.query.get("where", [""])[0])})
        if len(parts) == 1 and request.method in ("PUT", "POST"):
            return self._create(request, collection, store)
        if len(parts) >= 3 and parts[2] == "Attachments" and parts[1] in store:
            return self._attachment(request, collection, parts)
        return _reply(request, 404, {"Title": "Not Found", "Status": 404, "Detail": seen.path})

    def _create(self, request: requests.PreparedRequest, collection: str, store: dict) -> requests.Response:
        try:
            body = loads(request.body)
        except ValueError:
            return _validation(request, ["The request body could not be read as JSON"])
        errors = self.schemas.errors(collection, body)
        if errors:
            return _validation(request, errors)
        created = []
        for document in body[collection]:
            problems = self._business_rules(collection, document)
            if problems:
                return _validation(request, problems)
            stored = dict(document)
            if collection == "Invoices":
                stored.update(InvoiceID=str(uuid.uuid4()), HasAttachments=False,
                              Total=sum((li["UnitAmount"] * li.get("Quantity", Decimal(1))
                                         for li in document["LineItems"]), Decimal(0)))
                store[stored["InvoiceID"]] = stored
            else:
                stored.update(ManualJournalID=str(uuid.uuid4()), HasAttachments=False)
                store[stored["ManualJournalID"]] = stored
            created.append(stored)
        return _reply(request, 200, {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": "fake",
                                     collection: created})

    def _business_rules(self, collection: str, document: dict) -> list[str]:
        lines = document.get("LineItems") or document.get("JournalLines") or []
        problems = [f"Account code '{line.get('AccountCode')}' is not a valid code for this document."
                    for line in lines if line.get("AccountCode") not in self.accounts]
        if collection == "ManualJournals":
            total = sum((line["LineAmount"] for line in lines), Decimal(0))
            if total:
                problems.append(f"The total debits must equal the total credits (off by {total}).")
        elif sum((li["UnitAmount"] * li.get("Quantity", Decimal(1)) for li in lines), Decimal(0)) < 0:
            problems.append("The document total must not be negative.")  # the fake's wording of Xero's rule
        return problems

    def _attachment(self, request: requests.PreparedRequest, collection: str, parts: list[str]) -> requests.Response:
        held = self.attachments.setdefault(parts[1], {})
        if request.method == "GET" and len(parts) == 3:
            return _reply(request, 200, {"Attachments": [_attachment_json(collection, parts[1], name, mime, data)
                                                         for name, (mime, data) in held.items()]})
        if request.method in ("PUT", "POST") and len(parts) == 4:
            data = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
            if not data:
                return _validation(request, ["The attachment is empty"])
            held[parts[3]] = (request.headers.get("Content-Type", "application/octet-stream"), data)
            store = self.invoices if collection == "Invoices" else self.journals
            store[parts[1]]["HasAttachments"] = True
            return _reply(request, 200, {"Attachments": [_attachment_json(collection, parts[1], parts[3],
                                                                          *held[parts[3]])]})
        return _reply(request, 405, {"Title": "Method Not Allowed", "Status": 405})


def _attachment_json(collection: str, doc_id: str, name: str, mime: str, data: bytes) -> dict:
    return {"AttachmentID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{doc_id}/{name}")), "FileName": name,
            "Url": f"{API}/{collection}/{doc_id}/Attachments/{name}", "MimeType": mime, "ContentLength": len(data)}


def _where(documents: Iterable[dict], where: str) -> list[dict]:
    """Xero's `where` filter, the part the adapter uses: `Field=="value"` terms joined by AND."""
    terms = []
    for term in filter(None, (t.strip() for t in where.split(" AND "))):
        match = WHERE_TERM.match(term)
        if match is None:
            raise ValueError(f"fake Xero understands only Field==\"value\" AND ...: {term!r}")
        terms.append(match.groups())
    return [d for d in documents if all(str(d.get(name)) == value for name, value in terms)]


def _validation(request: requests.PreparedRequest, messages: list[str]) -> requests.Response:
    """Xero's 400: a ValidationException with each message under Elements[].ValidationErrors."""
    return _reply(request, 400, {"ErrorNumber": 10, "Type": "ValidationException",
                                 "Message": "A validation exception occurred",
                                 "Elements": [{"ValidationErrors": [{"Message": m} for m in messages]}]})


def _reply(request: requests.PreparedRequest, status: int, body: object,
           headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.request = request
    response.url = request.url
    response.headers = CaseInsensitiveDict({"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    response._content = b"" if body is None else dumps(body).encode()
    response.encoding = "utf-8"
    return response


def stored_bills(fake: FakeXero, invoice_number: str) -> list[dict]:
    return [i for i in fake.invoices.values() if i.get("InvoiceNumber") == invoice_number]


def as_json(document: dict) -> str:
    return json.dumps(document, default=str, sort_keys=True)
