"""The Yonyou adapter against the local fake YonBIP: the signed app-key token in the access_token query parameter,
the voucher saved once with its businessId, the platform's refusals, refresh once on an expired token, 429 waited
out, unknown write outcomes looked up by the claim before saving again. No socket, no sleep."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib.adapters.ledgers import openapi
from chalicelib.adapters.ledgers.http import RetryPolicy, loads
from chalicelib.adapters.ledgers.port import LedgerAuthFailed, LedgerUnavailable, PayloadInvalid, PostingRejected
from chalicelib.adapters.ledgers.yonyou import YonyouLedger, business_id
from chalicelib.domain.ledger_mapping import ReceiptFile
from tests.ledger_fakes.yonyou import APP_KEY, APP_SECRET, QUERY, SAVE, FakeYonyou
from tests.unit.adapters.test_xero import JPEG, NOW, make_posting
from tests.unit.adapters.test_yonyou_payload import config


@pytest.fixture
def fake() -> FakeYonyou:
    return FakeYonyou()


def connect(fake, clock, sleeper, **changes) -> YonyouLedger:
    return YonyouLedger.connect(config(**changes), fake.session(), APP_KEY, APP_SECRET,
                                policy=RetryPolicy(max_attempts=5), sleep=sleeper, clock=clock)


@pytest.fixture
def yonyou(fake, clock, sleeper) -> YonyouLedger:
    return connect(fake, clock, sleeper)


def api(fake) -> list[tuple[str, int | None]]:
    return [(s.path, s.status) for s in fake.seen if s.path in (SAVE, QUERY)]


def test_a_posting_becomes_one_voucher_with_its_business_id(fake, yonyou):
    document = yonyou.post(make_posting(), [ReceiptFile(file_name="r.jpg", content_type="image/jpeg", content=JPEG)])
    [voucher] = fake.stored("c-7f3a")
    assert (document.id, document.kind, document.external_id) == (voucher["id"], "voucher", "c-7f3a")
    assert document.url == f"urn:yonyou:voucher:HK001:{voucher['id']}" and document.attachments == ()
    assert (voucher["businessId"], voucher["attachedBill"], voucher["totalDebitOrg"]) == (
        business_id("c-7f3a"), 1, Decimal("91.06"))
    assert api(fake) == [(QUERY, 200), (SAVE, 200)]
    calls = [s for s in fake.seen if s.path in (SAVE, QUERY)]
    assert all(s.query["access_token"] == ["yy-access-1"] and "Authorization" not in s.headers for s in calls)


def test_the_token_request_is_signed_with_the_app_secret(fake, yonyou):
    yonyou.post(make_posting())
    [token] = [s for s in fake.seen if s.path.endswith("/getAccessToken")]
    assert token.method == "GET" and token.query["appKey"] == [APP_KEY]
    assert token.query["timestamp"] == [str(int(NOW.timestamp() * 1000))]


def test_posting_a_claim_already_in_the_book_returns_it_and_saves_nothing(fake, yonyou):
    first = yonyou.post(make_posting())
    assert yonyou.post(make_posting()) == first
    assert len(fake.writes()) == 1
    assert yonyou.find("c-7f3a") == first  # from the claim id alone: the last periods are searched


def test_a_payload_breaking_the_schema_is_refused_before_any_request(fake, yonyou, monkeypatch):
    from chalicelib.adapters.ledgers import yonyou as module

    monkeypatch.setattr(module, "narration", lambda claim_id: 42)
    with pytest.raises(PayloadInvalid, match="description: 42 is not of type 'string'"):
        yonyou.post(make_posting())
    assert fake.seen == []


# --- the error paths -----------------------------------------------------------------------------------------------
def test_a_refusal_is_a_rejection_carrying_the_platforms_message(fake, yonyou):
    fake.inject("validation", message="凭证保存不成功: 会计期间 2026-11 已结账")
    with pytest.raises(PostingRejected, match="会计期间 2026-11 已结账") as raised:
        yonyou.post(make_posting())
    assert raised.value.messages == ["凭证保存不成功: 会计期间 2026-11 已结账 (code 404)"]
    assert not raised.value.retryable and fake.vouchers == {}


def test_an_account_the_book_does_not_know_is_rejected_with_its_message(fake, clock, sleeper):
    yonyou = connect(fake, clock, sleeper, expense_accounts={"meals": "999999"})
    with pytest.raises(PostingRejected, match="科目编码 999999 不存在"):
        yonyou.post(make_posting())


def test_429_waits_the_retry_after_then_saves(fake, yonyou, sleeper):
    fake.inject("429", retry_after="3", times=2)
    yonyou.post(make_posting())
    assert sleeper.waits == [3.0, 3.0] and len(fake.stored("c-7f3a")) == 1


def test_429_on_the_lookup_is_waited_out_too(fake, yonyou, sleeper):
    fake.inject("429", path=QUERY, retry_after="1")
    yonyou.post(make_posting())
    assert sleeper.waits == [1.0] and len(fake.stored("c-7f3a")) == 1


def test_429_retries_are_bounded_and_left_to_the_queue(fake, yonyou, sleeper):
    fake.inject("429", retry_after="2", times=10)
    with pytest.raises(LedgerUnavailable, match="5 attempts") as raised:
        yonyou.post(make_posting())
    assert raised.value.retryable and fake.vouchers == {}


@pytest.mark.parametrize("as_http_401", [False, True])
def test_an_expired_token_is_refreshed_once(fake, yonyou, as_http_401):
    fake.expired_as_http_401 = as_http_401
    fake.inject("401")
    document = yonyou.post(make_posting())
    assert document.id == fake.stored("c-7f3a")[0]["id"]
    assert [s.status for s in fake.writes()] == [401 if as_http_401 else 200, 200]
    assert [s.query["access_token"] for s in fake.writes()] == [["yy-access-1"], ["yy-access-2"]]


def test_a_token_refused_again_after_refresh_fails_visibly(fake, yonyou):
    fake.inject("401", times=2)
    with pytest.raises(LedgerAuthFailed, match="refused a freshly refreshed token") as raised:
        yonyou.post(make_posting())
    assert not raised.value.retryable and fake.vouchers == {}


def test_a_refused_app_key_fails_visibly_with_the_platforms_message(fake, yonyou):
    fake.refuse_app_key = True
    with pytest.raises(LedgerAuthFailed, match="refused the app key .*签名校验失败"):
        yonyou.post(make_posting())


def test_a_token_near_expiry_is_replaced_before_the_call(fake, yonyou, clock):
    yonyou.post(make_posting())
    clock.at = NOW + timedelta(hours=1, minutes=56)
    yonyou.post(make_posting())
    assert fake._issued == 2 and not any(s.status == 401 for s in fake.seen)


def test_a_500_on_the_save_looks_the_voucher_up_before_saving_again(fake, yonyou, sleeper):
    fake.inject("500")
    yonyou.post(make_posting())
    assert api(fake) == [(QUERY, 200), (SAVE, 500), (QUERY, 200), (SAVE, 200)]
    assert sleeper.waits == [1.0] and len(fake.stored("c-7f3a")) == 1


def test_a_timeout_after_the_save_finds_the_voucher_instead_of_saving_it_again(fake, yonyou):
    fake.honour_business_ids = False  # only the lookup stands between us and a duplicate
    fake.inject("timeout_after_write")
    document = yonyou.post(make_posting())
    assert [v["id"] for v in fake.stored("c-7f3a")] == [document.id] and len(fake.writes()) == 1


def test_the_business_id_alone_replays_the_first_save(fake, yonyou, monkeypatch):
    """Were the lookup to miss it (a voucher in another period), the platform's businessId check still holds."""
    first = yonyou.post(make_posting())
    monkeypatch.setattr(yonyou, "find", lambda *a, **k: None)
    assert yonyou.post(make_posting()) == first and len(fake.vouchers) == 1 and len(fake.writes()) == 2


def test_a_connect_timeout_on_the_lookup_is_retried(fake, yonyou, sleeper):
    fake.inject("timeout", path=QUERY)
    yonyou.post(make_posting())
    assert sleeper.waits == [1.0] and len(fake.stored("c-7f3a")) == 1


def test_saves_that_keep_failing_are_left_to_the_queue_without_a_voucher(fake, yonyou, sleeper):
    fake.inject("500", times=10)
    with pytest.raises(LedgerUnavailable, match="not found after 5 attempts") as raised:
        yonyou.post(make_posting())
    assert raised.value.retryable and fake.vouchers == {} and sleeper.waits == [1.0, 2.0, 4.0, 8.0]


def test_the_fakes_answers_match_the_published_shapes(fake, yonyou):
    shapes = openapi.load("yonyou_voucher", requests_only=False)
    yonyou.post(make_posting())
    session = fake.session()
    saved = session.post(f"{yonyou.config.gateway_url}{SAVE}", params={"access_token": "yy-access-1"},
                         data=b'{"businessId": "' + business_id("c-7f3a").encode() + b'"}')
    assert shapes.errors("addVoucherResponse", loads(saved.content)) == []
    refused = session.post(f"{yonyou.config.gateway_url}{SAVE}", params={"access_token": "nope"}, data=b"{}")
    assert shapes.errors("apiError", loads(refused.content)) == []


@pytest.mark.parametrize("seed", range(5))
def test_twenty_deliveries_of_one_claim_make_exactly_one_voucher(fake, yonyou, seed):
    """Twenty deliveries of one claim, the first fifteen each meeting a random run of failures on the lookup or the
    save, with the platform's businessId check switched off so the lookup alone holds."""
    fake.honour_business_ids = False
    rng = random.Random(seed)
    outcomes = []
    for attempt in range(20):
        if attempt < 15:
            fake.inject(rng.choice(["timeout_after_write", "500", "429", "timeout", "401"]),
                        path=rng.choice([SAVE, QUERY, ""]), times=rng.randint(1, 6))
        try:
            outcomes.append(yonyou.post(make_posting()).id)
        except (LedgerUnavailable, LedgerAuthFailed):
            outcomes.append(None)
    [voucher] = fake.stored("c-7f3a")
    assert set(outcomes) - {None} == {voucher["id"]} and outcomes[-1] == voucher["id"]


def test_the_logs_carry_no_name_amount_token_or_maker(fake, yonyou, caplog):
    caplog.set_level("DEBUG")
    for fault in ("429", "401", "500", "timeout_after_write"):
        fake.inject(fault, path="" if fault == "401" else SAVE)
    yonyou.post(make_posting())
    text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert caplog.records and "c-7f3a" in text
    for secret in ("Chan", "91.05", "1.02", "yy-access-", APP_SECRET, "85291234567"):
        assert secret not in text
