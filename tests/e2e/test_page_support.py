"""What the pages need from the API besides claims: who is signed in (from the directory, in words) and the
receipt image as it was read, to whoever may read the expense and to nobody else."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import requests

from chalicelib import bootstrap
from tests.receipts import receipt_png


def test_me_is_the_directory_entry_in_words(driver):
    status, me = driver.call("GET", "/me", None, driver.auth("E201"))
    assert status == 200, me
    assert me == {"employee_id": "E201", "name": "黃小明 Wong Siu Ming", "department_id": "HK-SALES",
                  "department": "Sales 銷售部", "roles": ["employee"], "timezone": "Asia/Hong_Kong"}
    assert driver.call("GET", "/me", None, {})[0] == 401


def test_the_receipt_image_is_the_version_read_and_only_for_its_readers(driver):
    png = receipt_png("翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3), [("奶茶 Milk Tea", "38.00")])
    expense_id = driver.upload("E201", png, "receipt.png", "image/png")
    expense = driver.wait_expense("E201", expense_id, {"extracted", "needs_review"})

    status, body = driver.call("GET", f"/expenses/{expense_id}/receipt", None,
                               {**driver.auth("E201"), "Accept": "application/json"})
    assert status == 200, body
    url = body["url"]
    query = parse_qs(urlsplit(url).query)
    assert query["versionId"] == [expense["s3_version_id"]]  # exactly the version extraction read
    assert int(query["X-Amz-Expires"][0]) <= 300
    assert requests.get(url, timeout=30).content == png  # S3 (moto) serves the presigned GET

    redirect = driver.call("GET", f"/expenses/{expense_id}/receipt", None, driver.auth("E201"))
    assert redirect[0] == 302

    # a colleague in the same department without finance or approver rights, and a stranger: not found
    for other in ("E202", "E121"):
        assert driver.call("GET", f"/expenses/{expense_id}/receipt", None, driver.auth(other))[0] == 404
    assert driver.call("GET", f"/expenses/{expense_id}/receipt", None, {})[0] == 401
    assert bootstrap.container().uploads.bucket in url
