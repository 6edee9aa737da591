"""Yonyou 用友 YonBIP / YonSuite: an approved claim as an accounting voucher (记账凭证) through the open platform's
凭证保存接口, validated against a schema written from its published definition
(schemas/yonyou_voucher_components.json) before anything is sent.

Sources (read 2026-12-02):
- 凭证保存接口 `POST {gateway}/yonbip/fi/ficloud/openapi/voucher/addVoucher?access_token=...`, open platform API
  page apiId d4377b6fda764980866860ac4b63b092 (https://open.yonyoucloud.com/#/doc-center/docDes/api?apiId=
  d4377b6fda764980866860ac4b63b092), read through a public transcription dated 2026-06-07: header accbookCode (账簿),
  voucherTypeCode (凭证类型), makerMobile/makerEmail (制单人), makeTime, period, attachedBill (附单据数), description,
  businessId ("业务唯一标识，做业务幂等校验"), externalSourceDataId/-Type/-SystemName; bodies[] description (摘要),
  accsubjectCode (科目编码), currencyCode, rateType, rateOrg/rateOrgOps, debitOriginal/debitOrg,
  creditOriginal/creditOrg ("借贷不能同时填写，原币本币都要填写"), busidate,
  clientAuxiliaryList[] {filedCode, valueCode} (辅助核算).
  Answer: `{"code": "200", "message", "data": {"voucherId", "billCode", ...}}`; a refusal is code "404" with the
  reason in message ("凭证保存不成功参考message提示信息").
- 获取 access_token (自建应用): `GET {auth}/open-auth/selfAppAuth/base/v1/getAccessToken?appKey&timestamp&signature`
  (the path since 2023-07-21; before: .../selfAppAuth/getAccessToken), timestamp in milliseconds, signature =
  URLEncode(Base64(HmacSHA256("appKey" + appKey + "timestamp" + timestamp, key = appSecret))); answer
  `{"code": "00000", "data": {"access_token", "expire": 7200}}`; the token goes in the `access_token` query
  parameter of every call and lasts two hours, so it is refreshed ahead of expiry and once when refused.

Never twice: the voucher carries `businessId`, a UUID derived from the claim id (the platform's own idempotency
check), `externalSourceDataId` = the claim id and the header summary "Expense claim <id>". `post` looks the claim
up first and, after a timeout or 5xx, again before writing again (LedgerHttp.write_once).

Where the public definition is incomplete (said here and in the report):
- The lookup uses 凭证列表查询 `POST .../openapi/voucher/queryVouchers` (pager, accbookCode, periodStart/periodEnd,
  voucherTypeCodeList, makeTimeStart/makeTimeEnd), whose published definition was not found: its request and
  answer (`data.recordList[].header` with id and description) are as public client code uses them. The voucher is
  looked for in the posting's period and entry date (or, from `find` alone, the last `lookback_months` periods).
- The platform's token-expired error code was not found: HTTP 401 and the body codes in `token_expired_codes`
  (default "401") are read as an expired token and refreshed once. Rate limiting is read as HTTP 429 (Retry-After
  honoured when sent); the platform's body code for it was not confirmed.
- What the platform answers to a second save with the same businessId is not documented; the lookup does not rely
  on it. Whether it recomputes debitOrg from debitOriginal x rateOrg (a cent away from the HKD worked out once for
  the claim) is not documented: the HKD amounts sent are the posting's, and the voucher balances in HKD.
- A claim clearing a cash advance (备用金): the employee's payable is credited only with what the claim exceeds the
  advance by, the advances 科目 credited with the whole advance, and the unused part debited to the employee
  receivable 科目: one voucher, balanced in HKD, using only the body fields above.
- No published deep link to a voucher in the YonBIP UI was found: the document URL is `url_template`
  (default a URN naming the book and voucher id). Receipts are not uploaded; their number is `attachedBill`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import requests
from pydantic import BaseModel, Field, model_validator

from chalicelib.adapters.ledgers import openapi
from chalicelib.adapters.ledgers.http import Clock, LedgerHttp, RetryPolicy, Sleep, dumps, loads, utcnow
from chalicelib.adapters.ledgers.port import (
    ExternalDocument,
    LedgerAuthFailed,
    LedgerUnavailable,
    PayloadInvalid,
    PostingRejected,
)
from chalicelib.domain.ledger_mapping import Posting, PostingLine, ReceiptFile

log = logging.getLogger(__name__)

LEDGER = "yonyou"
SCHEMA = "yonyou_voucher"
SAVE_PATH = "/yonbip/fi/ficloud/openapi/voucher/addVoucher"
QUERY_PATH = "/yonbip/fi/ficloud/openapi/voucher/queryVouchers"
OK, TOKEN_OK = "200", "00000"
PAGE_SIZE = 100
MAX_PAGES = 50
BUSINESS_ID_NAMESPACE = uuid.UUID("6f1c7c62-4a51-4d35-9a2e-9d0d1c6e2f10")  # this integration's; never change it


class YonyouConfig(BaseModel):
    """A company's YonBIP set-up: codes, as the tenant's 账簿, 凭证类型, 科目 and 辅助核算 archives spell them."""

    gateway_url: str  # the tenant's data-centre API gateway, e.g. https://c2.yonyoucloud.com/iuap-api-gateway
    token_url: str  # e.g. https://c2.yonyoucloud.com/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken
    accbook_code: str  # 账簿 code (its book currency is the company's: HKD)
    voucher_type_code: str  # the code of the 记 (记账凭证) voucher type in the tenant's list
    maker_mobile: str | None = Field(default=None, repr=False)  # 制单人: the finance user the vouchers are made as
    maker_email: str | None = Field(default=None, repr=False)
    expense_accounts: dict[str, str] = Field(default_factory=dict)  # category -> 科目编码
    default_account: str
    payable_account: str  # 其他应付款 - 员工报销 (the credit line)
    advances_account: str | None = None  # 其他应收款 - 员工借款: the cash advance a claim clears (备用金)
    employee_receivable_account: str | None = None  # what an employee owes back of an advance (None: the same)
    rounding_account: str  # FX rounding: the difference between the claim total and its lines
    rate_type: str = "01"  # 账簿币汇率类型: 01 基准类型, 02 自定义类型
    department_aux_code: str = "0001"  # the 辅助核算 item of the department (filedCode)
    department_codes: dict[str, str] = Field(default_factory=dict)  # cost centre -> 部门编码
    employee_aux_code: str | None = None  # the 辅助核算 item of the person, when the payable account has one
    employee_codes: dict[str, str] = Field(default_factory=dict)  # employee id -> 人员编码
    #: the 辅助核算 item holding the profits tax tag, and tag (deductible | non_deductible) -> its value code;
    #: None: the tag is written at the end of the line's 摘要
    profits_tax_aux_code: str | None = None
    profits_tax_codes: dict[str, str] = Field(default_factory=lambda: {"deductible": "01", "non_deductible": "02"})
    source_data_type: str = "报销单"  # externalSourceDataType
    source_system_name: str = "HK expense claims"  # externalSourceSystemName
    token_expired_codes: frozenset[str] = frozenset({"401"})
    lookback_months: int = Field(default=3, ge=1, le=24)
    url_template: str = "urn:yonyou:voucher:{accbook}:{id}"

    @model_validator(mode="after")
    def _maker(self) -> YonyouConfig:
        if not (self.maker_mobile or self.maker_email):
            raise ValueError("the voucher maker's mobile or email is required (制单人手机号和邮箱不能同时为空)")
        return self

    def account(self, category: str) -> str:
        return self.expense_accounts.get(category, self.default_account)


def narration(claim_id: str) -> str:
    return f"Expense claim {claim_id}"


def business_id(claim_id: str) -> str:
    """The voucher's businessId: the same UUID for every retry of the same claim."""
    return str(uuid.uuid5(BUSINESS_ID_NAMESPACE, claim_id))


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _side(amount: Decimal, original: Decimal) -> dict:
    """A debit for a positive amount, a credit of its absolute value for a negative one (never both)."""
    if amount >= 0:
        return {"debitOriginal": original, "debitOrg": amount}
    return {"creditOriginal": -original, "creditOrg": -amount}


def build_voucher(posting: Posting, config: YonyouConfig, attachments: int = 0) -> dict:
    """The claim as one balanced voucher in the book currency (HKD): each expense debited in its own currency at
    its rate with the HKD amount beside it, the rounding line, and the employee's payable credited with the total."""
    missing = sorted({c for c in {line.cost_centre for line in posting.lines} | {posting.cost_centre}
                      if c and config.department_codes and c not in config.department_codes})
    if missing:
        raise PostingRejected(LEDGER, [f"cost centre {c} has no Yonyou department code mapped" for c in missing])
    employee = None
    if config.employee_aux_code:
        employee = config.employee_codes.get(posting.employee_id)
        if employee is None:
            raise PostingRejected(LEDGER, [f"employee {posting.employee_id} has no Yonyou person code mapped: "
                                           f"finance must map one before the claim can be posted"])

    def auxiliary(cost_centre: str | None, person: bool = False, line: PostingLine | None = None) -> dict:
        items = []
        if config.profits_tax_aux_code and line is not None and line.profits_tax is not None:
            items.append({"filedCode": config.profits_tax_aux_code,
                          "valueCode": config.profits_tax_codes[line.profits_tax.code]})
        department = config.department_codes.get(cost_centre or "")
        if department:
            items.append({"filedCode": config.department_aux_code, "valueCode": department})
        if person and employee:
            items.append({"filedCode": config.employee_aux_code, "valueCode": employee})
        return {"clientAuxiliaryList": items} if items else {}

    bodies = []
    for line in posting.lines:
        text = line.description if config.profits_tax_aux_code else line.described(300)
        bodies.append({"description": text, "accsubjectCode": config.account(line.category),
                       "currencyCode": line.original.currency, "rateType": config.rate_type,
                       "rateOrg": line.rate.hkd_per_unit, "rateOrgOps": 1,
                       "busidate": line.rate.wanted_date.isoformat(),
                       **_side(line.hkd.amount, line.original.amount), **auxiliary(line.cost_centre, line=line)})
    book = posting.total.currency
    if posting.rounding.amount:
        bodies.append({"description": "FX rounding: claim total converted once",
                       "accsubjectCode": config.rounding_account, "currencyCode": book, "rateType": config.rate_type,
                       "rateOrg": Decimal(1), "rateOrgOps": 1,
                       **_side(posting.rounding.amount, posting.rounding.amount), **auxiliary(posting.cost_centre)})
    def book_line(text: str, account: str, amount: Decimal) -> dict:
        """A line in the book currency; a positive amount is a credit, a negative one a debit."""
        return {"description": text, "accsubjectCode": account, "currencyCode": book, "rateType": config.rate_type,
                "rateOrg": Decimal(1), "rateOrgOps": 1, **_side(-amount, -amount),
                **auxiliary(posting.cost_centre, person=True)}

    if posting.owed.amount:
        bodies.append(book_line(f"Owed to employee {posting.employee_id}", config.payable_account,
                                posting.owed.amount))
    a = posting.advance
    if a is not None:  # 冲销备用金: the advance cleared in full, its unused part owed back by the employee
        if config.advances_account is None:
            raise PostingRejected(LEDGER, [f"claim {posting.external_id} clears cash advance {a.advance_id}: the "
                                           f"Yonyou advances account (科目) is not mapped"])
        bodies.append(book_line(a.cleared_text, config.advances_account, a.advance.amount))
        if a.recover_from_employee.amount:
            bodies.append(book_line(a.recover_text, config.employee_receivable_account or config.advances_account,
                                    -a.recover_from_employee.amount))
    voucher: dict = {"businessId": business_id(posting.external_id), "accbookCode": config.accbook_code,
                     "period": period_of(posting.entry_date), "voucherTypeCode": config.voucher_type_code,
                     "makeTime": posting.entry_date.isoformat(), "attachedBill": attachments,
                     "description": narration(posting.external_id), "bodies": bodies,
                     "externalSourceDataId": posting.external_id,
                     "externalSourceDataType": config.source_data_type,
                     "externalSourceSystemName": config.source_system_name}
    if config.maker_mobile:
        voucher["makerMobile"] = config.maker_mobile
    if config.maker_email:
        voucher["makerEmail"] = config.maker_email
    return voucher


def validated(posting: Posting, config: YonyouConfig, attachments: int = 0) -> dict:
    """The voucher body, or PayloadInvalid naming every way it breaks the published addVoucher definition."""
    body = build_voucher(posting, config, attachments)
    errors = openapi.load(SCHEMA).errors("addVoucher", body)
    if errors:
        raise PayloadInvalid(LEDGER, errors)
    return body


def _body(response: requests.Response) -> dict:
    try:
        body = loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def messages(response: requests.Response) -> list[str]:
    body = _body(response)
    if not body:
        return [f"HTTP {response.status_code}: {response.text[:200]}"]
    text = str(body.get("message") or body.get("msg") or f"code {body.get('code')}")
    return [f"{text} (code {body.get('code')})" if body.get("code") else text]


# --- auth: appKey + HmacSHA256 signature -------------------------------------------------------------------------
class YonyouAppAuth:
    """Access tokens of a self-built app (自建应用) from its appKey and appSecret; held in memory, refreshed ahead
    of expiry (two hours) and on demand. The secret and tokens are never logged."""

    def __init__(self, session: requests.Session, token_url: str, app_key: str, app_secret: str, *,
                 clock: Clock = utcnow, timeout: float = 10.0, early: timedelta = timedelta(seconds=300)):
        self.session, self.token_url, self.app_key = session, token_url, app_key
        self._secret = app_secret.encode()
        self.clock, self.timeout, self.early = clock, timeout, early
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._lock = threading.Lock()

    def signature(self, timestamp: str) -> str:
        """Base64(HmacSHA256(parameters sorted by name, name and value concatenated)); the URL encoding is the
        query string's."""
        message = f"appKey{self.app_key}timestamp{timestamp}".encode()
        return base64.b64encode(hmac.new(self._secret, message, hashlib.sha256).digest()).decode()

    def access_token(self) -> str:
        with self._lock:
            if self._token and self._expires_at and self._expires_at - self.early > self.clock():
                return self._token
        return self.refresh()

    def refresh(self) -> str:
        timestamp = str(int(self.clock().timestamp() * 1000))
        params = {"appKey": self.app_key, "timestamp": timestamp, "signature": self.signature(timestamp)}
        try:
            response = self.session.get(self.token_url, params=params, timeout=self.timeout,
                                        headers={"Accept": "application/json"})
        except requests.RequestException as e:
            raise LedgerUnavailable(f"{LEDGER} token endpoint unreachable: {type(e).__name__}") from e
        if response.status_code >= 500 or response.status_code == 429:
            raise LedgerUnavailable(f"{LEDGER} token endpoint answered {response.status_code}")
        body = _body(response)
        token = (body.get("data") or {}).get("access_token") if isinstance(body.get("data"), dict) else None
        if response.status_code != 200 or str(body.get("code")) != TOKEN_OK or not token:
            if response.status_code == 200 and str(body.get("code")) == TOKEN_OK:
                raise LedgerUnavailable(f"{LEDGER} token endpoint answered without an access token")
            raise LedgerAuthFailed(f"{LEDGER} refused the app key ({'; '.join(messages(response))}): finance must "
                                   f"check the app's key, secret and API authorisation")
        with self._lock:
            self._token = str(token)
            self._expires_at = self.clock() + timedelta(seconds=int(body["data"].get("expire", 7200)))
        log.info("ledger token refreshed", extra={"ledger": LEDGER})
        return self._token


# --- the adapter -----------------------------------------------------------------------------------------------
class YonyouLedger:
    """The LedgerAdapter for Yonyou YonBIP (see port.py)."""

    name = LEDGER
    books_advances = True

    def __init__(self, config: YonyouConfig, http: LedgerHttp, clock: Clock = utcnow):
        self.config, self.http, self.clock = config, http, clock
        self.schemas = openapi.load(SCHEMA)

    @classmethod
    def connect(cls, config: YonyouConfig, session: requests.Session, app_key: str, app_secret: str, *,
                policy: RetryPolicy | None = None, sleep: Sleep = time.sleep, clock: Clock = utcnow) -> YonyouLedger:
        """The adapter wired to YonBIP (or to whatever `session` routes to: the fake, in tests)."""
        auth = YonyouAppAuth(session, config.token_url, app_key, app_secret, clock=clock)
        expired = config.token_expired_codes

        def token_expired(response: requests.Response) -> bool:
            return response.status_code == 200 and str(_body(response).get("code")) in expired

        http = LedgerHttp(LEDGER, session, config.gateway_url, auth, policy=policy, sleep=sleep, clock=clock,
                          headers={"Accept": "application/json"}, token_param="access_token",  # noqa: S106 (a parameter name)
                          token_expired=token_expired)
        return cls(config, http, clock)

    def build(self, posting: Posting, attachments: int = 0) -> dict:
        return validated(posting, self.config, attachments)

    def post(self, posting: Posting, receipts: Sequence[ReceiptFile] = ()) -> ExternalDocument:
        body = dumps(self.build(posting, len(receipts))).encode()  # refused here, before any request
        claim = posting.external_id

        def find(claim_id: str) -> ExternalDocument | None:
            return self.find(claim_id, period=period_of(posting.entry_date), made_on=posting.entry_date)

        return find(claim) or self.http.write_once(claim, lambda: self._save(claim, body), find)

    def find(self, claim_id: str, *, period: str | None = None, made_on: date | None = None) -> ExternalDocument | None:
        """The claim's voucher, if the book holds one: looked for in `period` (made on `made_on`), or else in the
        last `lookback_months` periods."""
        if period:
            periods = [period]
        else:
            today = self.clock().date().replace(day=1)
            periods = []
            for _ in range(self.config.lookback_months):
                periods.append(period_of(today))
                today = (today - timedelta(days=1)).replace(day=1)
        for each in periods:
            found = self._query(claim_id, each, made_on)
            if found is not None:
                return found
        return None

    def _query(self, claim_id: str, period: str, made_on: date | None) -> ExternalDocument | None:
        wanted, hits = narration(claim_id), []
        for page in range(1, MAX_PAGES + 1):
            query: dict = {"pager": {"pageIndex": page, "pageSize": PAGE_SIZE}, "accbookCode": self.config.accbook_code,
                           "periodStart": period, "periodEnd": period,
                           "voucherTypeCodeList": [self.config.voucher_type_code]}
            if made_on:
                query["makeTimeStart"] = query["makeTimeEnd"] = made_on.isoformat()
            errors = self.schemas.errors("queryVouchers", query)
            if errors:
                raise PayloadInvalid(LEDGER, errors)
            response = self.http.request("POST", QUERY_PATH, write=False, body=dumps(query).encode(),
                                         headers={"Content-Type": "application/json"})
            data = self._data(response, "queryVouchers")
            records = data.get("recordList") or []
            for record in records:
                header = (record or {}).get("header") or {}
                if header.get("description") == wanted or header.get("externalSourceDataId") == claim_id:
                    hits.append(str(header.get("id")))
            if len(records) < PAGE_SIZE or page * PAGE_SIZE >= int(data.get("recordCount") or 0):
                break
        if len(hits) > 1:
            log.error("ledger holds a claim more than once", extra={"ledger": LEDGER, "external_id": claim_id,
                                                                   "count": len(hits)})
        return self._document(hits[0], claim_id) if hits else None

    def _save(self, claim_id: str, body: bytes) -> ExternalDocument:
        response = self.http.request("POST", SAVE_PATH, write=True, body=body,
                                     headers={"Content-Type": "application/json;charset=UTF-8"})
        data = self._data(response, "addVoucher")
        voucher_id = data.get("voucherId")
        if not voucher_id:
            raise LedgerUnavailable(f"{LEDGER} answered addVoucher without a voucher id")
        log.info("ledger document written", extra={"ledger": LEDGER, "external_id": claim_id})
        return self._document(str(voucher_id), claim_id)

    def _data(self, response: requests.Response, what: str) -> dict:
        status = response.status_code
        if status == 403:
            raise LedgerAuthFailed(f"{LEDGER} refused access ({'; '.join(messages(response))}): the app lacks the "
                                   f"API's authorisation")
        if 400 <= status < 500:
            raise PostingRejected(LEDGER, messages(response), status)
        if status != 200:
            raise LedgerUnavailable(f"{LEDGER} answered {what} with {status}")
        body = _body(response)
        if not body:
            raise LedgerUnavailable(f"{LEDGER} answered {what} with a body that is not a JSON object")
        if str(body.get("code")) != OK:
            raise PostingRejected(LEDGER, messages(response), status)
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    def _document(self, voucher_id: str, claim_id: str) -> ExternalDocument:
        url = self.config.url_template.format(accbook=self.config.accbook_code, id=voucher_id)
        return ExternalDocument(ledger=LEDGER, kind="voucher", id=voucher_id, url=url, external_id=claim_id)


def build_yonyou(config: YonyouConfig, session: requests.Session, app_key: str, app_secret: str,
                 **options) -> YonyouLedger:
    """The Yonyou adapter by name, for the posting service's factory (see YonyouLedger.connect)."""
    return YonyouLedger.connect(config, session, app_key, app_secret, **options)
