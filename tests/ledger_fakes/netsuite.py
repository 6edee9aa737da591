"""A local NetSuite for tests and benchmarks: a `requests` transport adapter (no socket) answering the SuiteTalk REST
record service (`/services/rest/record/v1/{expenseReport|vendorBill}/eid:{externalId}`: GET and the PUT upsert)
and the OAuth 2.0 client-credentials token endpoint, from the same schema the adapter validates with.

The token endpoint checks the client assertion for real: a JWT signed with the key of the certificate mapping
(PS256), `kid` the certificate id, `iss` the client id, `aud` the token endpoint. Records are kept by external id;
bodies breaking the schema, an unknown entity, account or category get NetSuite's 400 error body
(`{"type", "title", "status", "o:errorDetails": [{"detail", "o:errorCode", "o:errorPath"}]}`).

Failures are injected as on the fake Xero (`inject(kind, method=..., path=..., times=...)`): `429` (with
Retry-After), `500`, `timeout_after_write` (stored, then the answer is lost), `timeout` (ConnectTimeout, nothing
done), `401` (the access token expires: INVALID_LOGIN) and `validation` (400 INVALID_CONTENT with the message).
`upsert=False` makes every PUT add a record, as a create would: only the adapter's lookup then prevents a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import BaseAdapter

from chalicelib.adapters.ledgers import openapi
from chalicelib.adapters.ledgers.http import loads
from tests.ledger_fakes.xero import Fault, Seen, _reply

ACCOUNT_ID = "1234567_SB1"
HOST = "https://1234567-sb1.suitetalk.api.netsuite.com"
RECORDS = "/services/rest/record/v1"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
TOKEN_URL = HOST + TOKEN_PATH
CLIENT_ID, CERTIFICATE_ID = "ns-client-id-0001", "ns-cert-id-0001"
EMPLOYEES = frozenset({"1201"})
VENDORS = frozenset({"2201"})
ACCOUNTS = frozenset({"610", "611", "612", "613", "619", "695", "125", "126"})
CATEGORIES = frozenset({"5", "6"})
DEPARTMENTS = frozenset({"11", "12"})
CURRENCIES = frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "9"})  # the currencies the account enabled
ERROR_TYPE = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"


@cache
def private_key_pem() -> bytes:
    """The certificate key of the fake M2M mapping (generated once per test run)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_key() -> object:
    return serialization.load_pem_private_key(private_key_pem(), password=None).public_key()


def ns_error(status: int, title: str, code: str, detail: str, path: str | None = None) -> dict:
    item = {"detail": detail, "o:errorCode": code}
    if path:
        item["o:errorPath"] = path
    return {"type": f"{ERROR_TYPE}#sec10.{'4' if status < 500 else '5'}", "title": title, "status": status,
            "o:errorDetails": [item]}


@dataclass
class FakeNetSuite(BaseAdapter):
    upsert: bool = True
    refuse_credentials: bool = False
    records: dict[str, dict[str, dict]] = field(default_factory=lambda: {"expenseReport": {}, "vendorBill": {}})
    seen: list[Seen] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=set)
    assertions: list[dict] = field(default_factory=list)
    _next_id: int = 500
    _issued: int = 0

    def __post_init__(self) -> None:
        super().__init__()
        self.schemas = openapi.load("netsuite_record_v1")

    # --- test controls -------------------------------------------------------------------------------------------
    def session(self) -> requests.Session:
        s = requests.Session()
        s.mount(HOST + "/", self)
        return s

    def inject(self, kind: str, *, method: str | None = "PUT", path: str = "", times: int = 1, **options) -> None:
        self.faults.append(Fault(kind=kind, method=method, path=path, times=times, **options))

    def writes(self, record_type: str = "expenseReport") -> list[Seen]:
        return [s for s in self.seen if s.method == "PUT" and s.path.startswith(f"/{record_type}/")]

    def stored(self, external_id: str, record_type: str = "expenseReport") -> list[dict]:
        return [r for r in self.records[record_type].values() if r.get("externalId") == external_id]

    # --- the transport -------------------------------------------------------------------------------------------
    def close(self) -> None:  # pragma: no cover
        return None

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        parts = urlsplit(request.url)
        path = unquote(parts.path)
        seen = Seen(method=request.method, path=path.removeprefix(RECORDS), query=parse_qs(parts.query),
                    headers=dict(request.headers))
        self.seen.append(seen)
        response = self._token(request) if path == TOKEN_PATH else self._api(request, seen)
        seen.status = response.status_code
        return response

    def _fault(self, method: str, path: str) -> Fault | None:
        for f in self.faults:
            if f.times > 0 and (f.method is None or f.method == method) and path.startswith(f.path):
                f.times -= 1
                return f
        return None

    def _token(self, request: requests.PreparedRequest) -> requests.Response:
        form = parse_qs(request.body if isinstance(request.body, str) else (request.body or b"").decode())
        if (self.refuse_credentials or form.get("grant_type") != ["client_credentials"]
                or form.get("client_assertion_type") != ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]):
            return _reply(request, 400, {"error": "invalid_client"})
        assertion = (form.get("client_assertion") or [""])[0]
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, public_key(), algorithms=["PS256", "PS384", "PS512"], audience=TOKEN_URL,
                                issuer=CLIENT_ID, options={"require": ["exp", "iat", "iss", "aud"],
                                                            "verify_iat": False, "verify_exp": False})
        except jwt.PyJWTError:
            return _reply(request, 400, {"error": "invalid_grant"})
        if header.get("kid") != CERTIFICATE_ID or header.get("typ") != "JWT" or not (
                0 < claims["exp"] - claims["iat"] <= 3600) or "rest_webservices" not in str(claims.get("scope")):
            return _reply(request, 400, {"error": "invalid_grant"})
        self.assertions.append(claims)
        self._issued += 1
        access = f"ns-access-{self._issued}"
        self.access_tokens.add(access)
        return _reply(request, 200, {"access_token": access, "expires_in": "3600", "token_type": "bearer"})

    def _api(self, request: requests.PreparedRequest, seen: Seen) -> requests.Response:
        fault = self._fault(request.method, seen.path)
        if fault and fault.kind == "401":
            self.access_tokens.clear()
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        if token not in self.access_tokens:
            return _reply(request, 401, ns_error(401, "Unauthorized", "INVALID_LOGIN", "Invalid login attempt. For "
                                                 "more details, see the Login Audit Trail in the NetSuite UI at Setup "
                                                 "> Users/Roles > User Management > View Login Audit Trail."))
        if fault and fault.kind == "429":
            return _reply(request, 429, ns_error(429, "Too Many Requests", "CONCURRENCY_LIMIT_EXCEEDED",
                                                 "Concurrent request limit exceeded. Request blocked."),
                          {"Retry-After": fault.retry_after})
        if fault and fault.kind == "500":
            return _reply(request, 500, ns_error(500, "Internal Server Error", "UNEXPECTED_ERROR",
                                                 "An unexpected error occurred. Error ID: fake"))
        if fault and fault.kind == "timeout":
            raise requests.ConnectTimeout(f"fake NetSuite: connect timeout on {seen.method} {seen.path}")
        if fault and fault.kind == "validation":
            return _reply(request, 400, ns_error(400, "Bad Request", "INVALID_CONTENT", fault.message))
        response = self._route(request, seen)
        if fault and fault.kind == "timeout_after_write":
            raise requests.ReadTimeout(f"fake NetSuite: read timeout after {seen.method} {seen.path} was done")
        return response

    def _route(self, request: requests.PreparedRequest, seen: Seen) -> requests.Response:
        parts = [p for p in seen.path.split("/") if p]
        if len(parts) != 2 or parts[0] not in self.records or not parts[1].startswith("eid:"):
            return _reply(request, 404, ns_error(404, "Not Found", "INVALID_URL", f"Invalid URL {seen.path}"))
        record_type, eid = parts[0], parts[1].removeprefix("eid:")
        if request.method == "GET":
            found = self.stored(eid, record_type)
            if not found:
                return _reply(request, 404, ns_error(404, "Not Found", "NONEXISTENT_ID", "The record instance does "
                                                     "not exist. Provide a valid record instance ID."))
            return _reply(request, 200, {**found[0], "links": [{"rel": "self",
                                                                "href": f"{HOST}{RECORDS}/{record_type}/"
                                                                        f"{found[0]['id']}"}]})
        if request.method == "PUT":
            return self._upsert(request, record_type, eid)
        return _reply(request, 405, ns_error(405, "Method Not Allowed", "INVALID_METHOD", request.method))

    def _upsert(self, request: requests.PreparedRequest, record_type: str, eid: str) -> requests.Response:
        try:
            body = loads(request.body)
        except ValueError:
            return _reply(request, 400, ns_error(400, "Bad Request", "INVALID_CONTENT", "The request body is not "
                                                 "valid JSON."))
        errors = self.schemas.errors(record_type, body)
        if errors:
            path, _, message = errors[0].partition(": ")
            return _reply(request, 400, ns_error(400, "Bad Request", "INVALID_CONTENT",
                                                 f"Error while accessing resource: {message}", path.replace("/", ".")))
        problems = self._business_rules(record_type, body)
        if problems:
            detail, path = problems[0]
            return _reply(request, 400, ns_error(400, "Bad Request", "USER_ERROR", detail, path))
        existing = self.stored(eid, record_type)
        if existing and self.upsert:
            record = existing[0]
            record.update(body)
        else:
            self._next_id += 1
            record = {**body, "id": str(self._next_id), "externalId": eid}
            self.records[record_type][record["id"]] = record
        record["total"] = sum((Decimal(str(line["amount"])) for line in record["expense"]["items"]), Decimal(0))
        return _reply(request, 204, None, {"Location": f"{HOST}{RECORDS}/{record_type}/{record['id']}"})

    def _business_rules(self, record_type: str, body: dict) -> list[tuple[str, str]]:
        entities = EMPLOYEES if record_type == "expenseReport" else VENDORS
        if body["entity"].get("id") not in entities:
            return [(f"You have entered an Invalid Field Value {body['entity'].get('id')} for the following field: "
                     f"entity", "entity")]
        problems = []
        for n, line in enumerate(body["expense"]["items"]):
            for name, known in (("account", ACCOUNTS), ("expenseaccount", ACCOUNTS), ("category", CATEGORIES),
                                ("department", DEPARTMENTS), ("currency", CURRENCIES)):
                if name in line and line[name].get("id") not in known:
                    problems.append((f"You have entered an Invalid Field Value {line[name].get('id')} for the "
                                     f"following field: {name}", f"expense.items[{n}].{name}"))
            if record_type == "expenseReport" and "category" not in line and "expenseaccount" not in line:
                problems.append(("Please enter value(s) for: Category", f"expense.items[{n}].category"))
        total = sum((Decimal(str(line["amount"])) for line in body["expense"]["items"]), Decimal(0))
        if Decimal(str(body.get("advance", 0))) > total:  # the fake's wording: the advance applied is capped
            problems.append(("The advance to apply cannot be more than the expense report total", "advance"))
        if total < 0:
            problems.append(("The transaction total cannot be negative", "expense"))
        return problems
