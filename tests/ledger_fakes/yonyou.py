"""A local YonBIP open platform for tests and benchmarks: a `requests` transport adapter (no socket) answering the
self-built app token endpoint (appKey + timestamp + HmacSHA256 signature, checked for real), 凭证保存 addVoucher and
凭证列表查询 queryVouchers, validating bodies with the same schema the adapter uses (schemas/yonyou_voucher_...).

Vouchers are kept by id with their businessId, externalSourceDataId and header summary. A saved businessId replays
the first answer (the platform's "业务幂等校验"), unless `honour_business_ids` is off. The token goes in the
`access_token` query parameter. Answers are HTTP 200 with `{"code": "200", "message", "data"}`, or a refusal
`{"code": "404", "message": ...}` (addVoucher's documented 凭证保存不成功); a body breaking the schema, an unknown
account or an unbalanced voucher is refused that way with the reason.

Failures are injected as on the other fakes: `429` (HTTP 429 with Retry-After), `500`, `timeout_after_write`,
`timeout`, `401` (the token expires: body code "401" with HTTP 200, or HTTP 401 when `expired_as_http_401`) and
`validation` (code 404 with the message). The platform's own codes for an expired token and for rate limiting were
not found in public documentation: these are stand-ins the adapter is configured to read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter

from chalicelib.adapters.ledgers import openapi
from chalicelib.adapters.ledgers.http import loads
from tests.ledger_fakes.xero import Fault, Seen, _reply

HOST = "https://c2.yonyoucloud.com"
GATEWAY = HOST + "/iuap-api-gateway"
TOKEN_URL = HOST + "/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken"
APP_KEY, APP_SECRET = "yy-app-key-41832a3d", "yy-app-secret-0f9e"
ACCBOOK, VOUCHER_TYPE = "HK001", "1"
ACCOUNTS = frozenset({"660201", "660202", "660203", "660204", "660299", "660301", "224101", "122101", "122102"})
SAVE, QUERY = "/yonbip/fi/ficloud/openapi/voucher/addVoucher", "/yonbip/fi/ficloud/openapi/voucher/queryVouchers"


def refusal(message: str, code: str = "404") -> dict:
    return {"code": code, "message": message}


@dataclass
class FakeYonyou(BaseAdapter):
    honour_business_ids: bool = True
    expired_as_http_401: bool = False
    refuse_app_key: bool = False
    vouchers: dict[str, dict] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=set)
    _replies: dict[str, bytes] = field(default_factory=dict)
    _issued: int = 0
    _bill_code: int = 0

    def __post_init__(self) -> None:
        super().__init__()
        self.schemas = openapi.load("yonyou_voucher")

    # --- test controls -------------------------------------------------------------------------------------------
    def session(self) -> requests.Session:
        s = requests.Session()
        s.mount(HOST + "/", self)
        return s

    def inject(self, kind: str, *, method: str | None = "POST", path: str = SAVE, times: int = 1, **options) -> None:
        self.faults.append(Fault(kind=kind, method=method, path=path, times=times, **options))

    def writes(self) -> list[Seen]:
        return [s for s in self.seen if s.path == SAVE]

    def stored(self, claim_id: str) -> list[dict]:
        return [v for v in self.vouchers.values() if v.get("externalSourceDataId") == claim_id]

    # --- the transport -------------------------------------------------------------------------------------------
    def close(self) -> None:  # pragma: no cover
        return None

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        parts = urlsplit(request.url)
        path = parts.path.removeprefix("/iuap-api-gateway")
        seen = Seen(method=request.method, path=path, query=parse_qs(parts.query), headers=dict(request.headers))
        self.seen.append(seen)
        response = self._token(request, seen) if request.url.startswith(TOKEN_URL) else self._api(request, seen)
        seen.status = response.status_code
        return response

    def _fault(self, method: str, path: str) -> Fault | None:
        for f in self.faults:
            if f.times > 0 and (f.method is None or f.method == method) and (not f.path or path == f.path):
                f.times -= 1
                return f
        return None

    def _token(self, request: requests.PreparedRequest, seen: Seen) -> requests.Response:
        key, timestamp = (seen.query.get("appKey") or [""])[0], (seen.query.get("timestamp") or [""])[0]
        given = (seen.query.get("signature") or [""])[0]
        expected = base64.b64encode(hmac.new(APP_SECRET.encode(), f"appKey{key}timestamp{timestamp}".encode(),
                                             hashlib.sha256).digest()).decode()
        if self.refuse_app_key or key != APP_KEY or not timestamp.isdigit() or not hmac.compare_digest(given,
                                                                                                        expected):
            return _reply(request, 200, refusal("签名校验失败, 请检查appKey与appSecret", code="310000"))
        self._issued += 1
        token = f"yy-access-{self._issued}"
        self.access_tokens.add(token)
        return _reply(request, 200, {"code": "00000", "message": "成功！", "data": {"access_token": token,
                                                                                   "expire": 7200}})

    def _api(self, request: requests.PreparedRequest, seen: Seen) -> requests.Response:
        fault = self._fault(request.method, seen.path)
        if fault and fault.kind == "401":
            self.access_tokens.clear()
        if (seen.query.get("access_token") or [""])[0] not in self.access_tokens:
            if self.expired_as_http_401:
                return _reply(request, 401, refusal("access_token 已过期", code="401"))
            return _reply(request, 200, refusal("非法token或token已过期", code="401"))
        if fault and fault.kind == "429":
            return _reply(request, 429, refusal("请求过于频繁", code="429"), {"Retry-After": fault.retry_after})
        if fault and fault.kind == "500":
            return _reply(request, 500, refusal("服务端异常", code="500"))
        if fault and fault.kind == "timeout":
            raise requests.ConnectTimeout(f"fake Yonyou: connect timeout on {seen.path}")
        if fault and fault.kind == "validation":
            return _reply(request, 200, refusal(fault.message))
        try:
            body = loads(request.body)
        except ValueError:
            return _reply(request, 200, refusal("请求体不是合法的JSON"))
        if seen.path == SAVE and request.method == "POST":
            response = self._save(request, body)
        elif seen.path == QUERY and request.method == "POST":
            response = self._query(request, body)
        else:
            response = _reply(request, 200, refusal(f"{seen.path} 路径不存在", code="310404"))
        if fault and fault.kind == "timeout_after_write":
            raise requests.ReadTimeout(f"fake Yonyou: read timeout after {seen.path} was done")
        return response

    def _save(self, request: requests.PreparedRequest, voucher: dict) -> requests.Response:
        key = voucher.get("businessId") if isinstance(voucher, dict) else None
        if key and self.honour_business_ids and key in self._replies:
            response = _reply(request, 200, None)
            response._content = self._replies[key]
            return response
        errors = self.schemas.errors("addVoucher", voucher)
        if errors:
            return _reply(request, 200, refusal("凭证保存不成功: " + "; ".join(errors[:3])))
        problems = [f"科目编码 {b['accsubjectCode']} 不存在" for b in voucher["bodies"]
                    if b["accsubjectCode"] not in ACCOUNTS]
        if voucher["accbookCode"] != ACCBOOK:
            problems.append(f"账簿 {voucher['accbookCode']} 不存在")
        debit = sum((Decimal(str(b.get("debitOrg", 0))) for b in voucher["bodies"]), Decimal(0))
        credit = sum((Decimal(str(b.get("creditOrg", 0))) for b in voucher["bodies"]), Decimal(0))
        if debit != credit:
            problems.append(f"凭证借贷不平衡: 借方 {debit} 贷方 {credit}")
        if problems:
            return _reply(request, 200, refusal("凭证保存不成功: " + "; ".join(problems)))
        self._bill_code += 1
        voucher_id = str(uuid.uuid4()).upper()
        stored = {**voucher, "id": voucher_id, "billCode": self._bill_code, "voucherStatus": "01",
                  "totalDebitOrg": debit, "totalCreditOrg": credit}
        self.vouchers[voucher_id] = stored
        response = _reply(request, 200, {"code": "200", "message": "OK", "data": {
            "voucherId": voucher_id, "voucherStatus": "01", "period": voucher.get("period", ""),
            "totalDebitOrg": debit, "totalCreditOrg": credit, "billCode": self._bill_code,
            "accbook": {"id": "F87D4834", "code": ACCBOOK, "name": "香港账簿"},
            "voucherType": {"id": "9A738945", "code": voucher["voucherTypeCode"], "name": "记账凭证",
                            "voucherstr": "记"}}})
        if key:
            self._replies[key] = response.content
        return response

    def _query(self, request: requests.PreparedRequest, query: dict) -> requests.Response:
        errors = self.schemas.errors("queryVouchers", query)
        if errors:
            return _reply(request, 200, refusal("参数错误: " + "; ".join(errors[:3])))
        found = [v for v in self.vouchers.values() if v["accbookCode"] == query["accbookCode"]
                 and query.get("periodStart", "0000-00") <= v["period"] <= query.get("periodEnd", "9999-99")
                 and (not query.get("voucherTypeCodeList") or v["voucherTypeCode"] in query["voucherTypeCodeList"])
                 and query.get("makeTimeStart", "0000-00-00") <= v["makeTime"] <= query.get("makeTimeEnd",
                                                                                             "9999-99-99")]
        size, index = query["pager"]["pageSize"], query["pager"]["pageIndex"]
        page = found[(index - 1) * size: index * size]
        records = [{"header": {"id": v["id"], "billCode": v["billCode"], "period": v["period"],
                               "description": v["description"], "makeTime": v["makeTime"],
                               "voucherStatus": v["voucherStatus"], "totalDebitOrg": v["totalDebitOrg"],
                               "totalCreditOrg": v["totalCreditOrg"]},
                    "body": [{"description": b["description"], "accsubjectCode": b["accsubjectCode"]}
                             for b in v["bodies"]]} for v in page]
        return _reply(request, 200, {"code": "200", "message": "操作成功", "data": {
            "pageIndex": index, "pageSize": size, "recordCount": len(found), "recordList": records}})
