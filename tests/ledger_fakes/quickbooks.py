"""A local QuickBooks Online for tests: a `requests` transport adapter answering the V3 Accounting API (bill,
query, upload) and Intuit's token endpoint, checking bodies against the same V3 XSDs as the adapter, with QBO's
`Fault` error bodies. Failures are injected as on the fake Xero (`inject(kind, method=..., path=..., times=...)`):
`429` (QBO's ThrottleExceeded, without Retry-After), `500` (SystemFault), `timeout_after_write`, `timeout`,
`401` (AuthenticationFailed, token expired) and `validation` (ValidationFault).
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter

from chalicelib.adapters.ledgers.http import loads
from chalicelib.adapters.ledgers.xsd import quickbooks_errors
from tests.ledger_fakes.xero import Fault, Seen, _reply

API = "https://quickbooks.api.intuit.com/v3/company"
TOKEN = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
CLIENT_ID, CLIENT_SECRET = "qbo-client-id", "qbo-client-secret"
REALM = "9130350000000001"
ACCOUNTS = frozenset({"58", "59", "60", "61", "62", "33", "125", "126"})
VENDORS = frozenset({"71"})
QUERY = re.compile(r"^select \* from (Bill|Attachable) where (.+)$", re.IGNORECASE)
TERM = re.compile(r"^\s*([\w.]+)\s*=\s*'([^']*)'\s*$")
TIME = "2026-11-30T02:00:00.000-08:00"


def fault(kind: str, message: str, detail: str, code: str) -> dict:
    return {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}], "type": kind},
            "time": TIME}


@dataclass
class FakeQuickBooks(BaseAdapter):
    honour_request_ids: bool = True
    bills: dict[str, dict] = field(default_factory=dict)
    attachables: list[dict] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=lambda: {"qbo-access-0"})
    refresh_token: str = "qbo-refresh-0"
    _replies: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    _next_id: int = 145

    def __post_init__(self) -> None:
        super().__init__()

    def session(self) -> requests.Session:
        s = requests.Session()
        s.mount("https://quickbooks.api.intuit.com/", self)
        s.mount("https://oauth.platform.intuit.com/", self)
        return s

    def inject(self, kind: str, *, method: str | None = "POST", path: str = "", times: int = 1, **options) -> None:
        self.faults.append(Fault(kind=kind, method=method, path=path, times=times, **options))

    def writes(self, path: str = "/bill") -> list[Seen]:
        return [s for s in self.seen if s.method == "POST" and s.path == path]

    def close(self) -> None:  # pragma: no cover
        return None

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        parts = urlsplit(request.url)
        path = parts.path.removeprefix(f"/v3/company/{REALM}")
        seen = Seen(method=request.method, path=path, query=parse_qs(parts.query), headers=dict(request.headers))
        self.seen.append(seen)
        response = self._token(request) if request.url.startswith(TOKEN) else self._api(request, seen)
        seen.status = response.status_code
        return response

    def _token(self, request: requests.PreparedRequest) -> requests.Response:
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = parse_qs(request.body if isinstance(request.body, str) else (request.body or b"").decode())
        if request.headers.get("Authorization") != f"Basic {basic}" or form.get("refresh_token") != [
                self.refresh_token]:
            return _reply(request, 400, {"error": "invalid_grant"})
        self._next_id += 1
        access, self.refresh_token = f"qbo-access-{self._next_id}", f"qbo-refresh-{self._next_id}"
        self.access_tokens.add(access)
        return _reply(request, 200, {"token_type": "bearer", "access_token": access, "expires_in": 3600,
                                     "refresh_token": self.refresh_token, "x_refresh_token_expires_in": 8726400})

    def _fault(self, method: str, path: str) -> Fault | None:
        for f in self.faults:
            if f.times > 0 and (f.method is None or f.method == method) and path.startswith(f.path):
                f.times -= 1
                return f
        return None

    def _api(self, request: requests.PreparedRequest, seen: Seen) -> requests.Response:
        injected = self._fault(request.method, seen.path)
        if injected and injected.kind == "401":
            self.access_tokens.clear()
        if (request.headers.get("Authorization") or "").removeprefix("Bearer ") not in self.access_tokens:
            return _reply(request, 401, {"fault": {"error": [{
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Token expired: qbo-access-...", "code": "3200"}], "type": "AUTHENTICATION"},
                "time": TIME})
        if injected and injected.kind == "429":
            return _reply(request, 429, fault("SERVICE", "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                                              "The request limit was reached.", "003001"))
        if injected and injected.kind == "500":
            return _reply(request, 500, fault("SystemFault", "An application error has occurred while processing "
                                              "your request", "System Failure Error: internal", "10000"))
        if injected and injected.kind == "timeout":
            raise requests.ConnectTimeout("fake QuickBooks: connect timeout")
        if injected and injected.kind == "validation":
            return _reply(request, 400, fault("ValidationFault", "A business validation error has occurred while "
                                              "processing your request", injected.message, "6000"))
        key = (seen.query.get("requestid") or [None])[0]
        if key and self.honour_request_ids and key in self._replies:
            status, content = self._replies[key]
            response = _reply(request, status, None)
            response._content = content
        else:
            response = self._route(request, seen)
            if key and response.status_code < 500:
                self._replies[key] = (response.status_code, response.content)
        if injected and injected.kind == "timeout_after_write":
            raise requests.ReadTimeout("fake QuickBooks: read timeout after the write was done")
        return response

    def _route(self, request: requests.PreparedRequest, seen: Seen) -> requests.Response:
        if seen.path == "/bill" and request.method == "POST":
            return self._create_bill(request)
        if seen.path == "/query" and request.method == "GET":
            return self._query(request, seen.query.get("query", [""])[0])
        if seen.path == "/upload" and request.method == "POST":
            return self._upload(request)
        return _reply(request, 404, fault("ValidationFault", "Unsupported Operation", seen.path, "500"))

    def _create_bill(self, request: requests.PreparedRequest) -> requests.Response:
        try:
            bill = loads(request.body)
        except ValueError:
            return _reply(request, 400, fault("ValidationFault", "Request has invalid or unsupported property",
                                              "the body is not JSON", "2010"))
        errors = quickbooks_errors("Bill", bill)
        if errors:
            return _reply(request, 400, fault("ValidationFault", "Request has invalid or unsupported property",
                                              "; ".join(errors), "2010"))
        if "VendorRef" not in bill or bill["VendorRef"]["value"] not in VENDORS:
            return _reply(request, 400, fault("ValidationFault", "Invalid Reference Id",
                                              "Invalid Reference Id : Vendor assigned to this transaction has been "
                                              "deleted or is not valid", "2500"))
        for line in bill["Line"]:
            account = line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"]
            if account not in ACCOUNTS:
                return _reply(request, 400, fault("ValidationFault", "Invalid Reference Id",
                                                  f"Invalid Reference Id : Accounts element id {account} not found",
                                                  "2500"))
        if sum((line["Amount"] for line in bill["Line"]), Decimal(0)) < 0:  # the fake's wording of QBO's rule
            return _reply(request, 400, fault("ValidationFault", "Transaction total must not be negative",
                                              "A bill's total amount cannot be negative", "6000"))
        self._next_id += 1
        stored = {**bill, "Id": str(self._next_id), "SyncToken": "0",
                  "TotalAmt": sum((line["Amount"] for line in bill["Line"]), Decimal(0))}
        self.bills[stored["Id"]] = stored
        return _reply(request, 200, {"Bill": stored, "time": TIME})

    def _query(self, request: requests.PreparedRequest, query: str) -> requests.Response:
        match = QUERY.match(query.strip())
        if match is None:
            return _reply(request, 400, fault("ValidationFault", "QueryParserError", query, "4000"))
        entity, where = match.groups()
        terms = [TERM.match(t) for t in re.split(r"\s+and\s+", where, flags=re.IGNORECASE)]
        if not all(terms):
            return _reply(request, 400, fault("ValidationFault", "QueryParserError", query, "4000"))
        wanted = {t.group(1): t.group(2) for t in terms}
        if entity == "Bill":
            found = [b for b in self.bills.values() if all(str(b.get(k)) == v for k, v in wanted.items())]
        else:
            found = [a for a in self.attachables
                     if any(ref["EntityRef"]["type"] == wanted.get("AttachableRef.EntityRef.Type")
                            and ref["EntityRef"]["value"] == wanted.get("AttachableRef.EntityRef.value")
                            for ref in a["AttachableRef"])]
        body = {entity: found, "startPosition": 1, "maxResults": len(found)} if found else {}
        return _reply(request, 200, {"QueryResponse": body, "time": TIME})

    def _upload(self, request: requests.PreparedRequest) -> requests.Response:
        head = f"Content-Type: {request.headers.get('Content-Type')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + request.body)
        parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        metadata = loads(parts["file_metadata_0"].get_payload(decode=True))
        content = parts["file_content_0"].get_payload(decode=True)
        attachable = {**metadata, "Id": str(uuid.uuid4().int)[:12], "Size": len(content), "SyncToken": "0"}
        self.attachables.append(attachable)
        self.files[attachable["Id"]] = content
        return _reply(request, 200, {"AttachableResponse": [{"Attachable": attachable}], "time": TIME})
