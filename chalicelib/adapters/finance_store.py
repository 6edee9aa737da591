"""The finance dashboard's DynamoDB side: the aggregates table (buckets, per-claim markers, adopters) and the
claims table's indexes behind the claim list and the queues. Nothing here scans a table.

Every write of the stream consumer is one transaction: the markers of the claims it applies (each conditional on
the marker's claim version), the buckets they change and the adopters they add (each conditional on its own
version). A redelivered stream record finds its marker at its version and changes nothing; two consumers racing
on a bucket cannot both win. `items_read` counts the items each read returned (the benchmark reports it).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo_models import ClaimItem, FinanceItem
from chalicelib.adapters.repositories import claim_from_body
from chalicelib.domain.claim import Claim
from chalicelib.domain.errors import ConcurrentChange
from chalicelib.domain.finance import Applied, Bucket, Contribution, Facts

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems


def _facts(body: str) -> Facts:
    """Counters are JSON numbers read exactly: decimals as Decimal (never float), counts as int."""
    return json.loads(body, parse_float=Decimal)


def _dump(facts: Facts) -> str:
    """Exact decimal text for every counter (a Decimal's own digits, never a float's)."""
    return "{" + ",".join(f"{json.dumps(k)}:{format(Decimal(v), 'f')}" for k, v in sorted(facts.items())) + "}"


def bucket_key(department_id: str, month: str) -> tuple[str, str]:
    return f"BUCKET#{department_id}", month


def marker_key(claim_id: str) -> tuple[str, str]:
    return f"CLAIM#{claim_id}", "APPLIED"


def adopter_key(department_id: str, employee_id: str) -> tuple[str, str]:
    return f"ADOPTER#{department_id}", employee_id


class Stored:
    """An aggregate item as read: its version (None: absent) and its value."""

    def __init__(self, version: int | None, value):
        self.version = version
        self.value = value


class AggregateStore:
    def __init__(self, connection: Connection):
        self._connection = connection
        self.items_read = 0

    # ---- the consumer's reads ----------------------------------------------------------------------------
    def _batch(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], FinanceItem]:
        if not keys:
            return {}
        found = {(i.pk, i.sk): i for i in FinanceItem.batch_get(list(dict.fromkeys(keys)), consistent_read=True)}
        self.items_read += len(found)
        return found

    def markers(self, claim_ids: list[str]) -> dict[str, Applied]:
        found = self._batch([marker_key(c) for c in claim_ids])
        out = {}
        for claim_id in claim_ids:
            item = found.get(marker_key(claim_id))
            if item is not None:
                body = json.loads(item.body)
                contribution = Contribution.model_validate(body) if body else None
                out[claim_id] = Applied(version=int(item.version), contribution=contribution)
        return out

    def buckets(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Stored]:
        found = self._batch([bucket_key(*k) for k in keys])
        return {k: Stored(int(i.version), _facts(i.body)) if (i := found.get(bucket_key(*k))) else Stored(None, {})
                for k in keys}

    def adopters(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Stored]:
        """(department, employee) -> first month filed (None: not yet an adopter)."""
        found = self._batch([adopter_key(*k) for k in keys])
        return {k: Stored(int(i.version), json.loads(i.body)["first_month"])
                if (i := found.get(adopter_key(*k))) else Stored(None, None) for k in keys}

    # ---- the consumer's one write ------------------------------------------------------------------------
    def commit(self, markers: list[tuple[str, Applied, int | None]],
               buckets: dict[tuple[str, str], tuple[Stored, Facts]],
               adopters: dict[tuple[str, str], tuple[Stored, str]]) -> None:
        """One transaction: markers (claim id, new marker, marker version read), buckets (read, new facts) and
        adopters (read, new first month). Raises ConcurrentChange when anything moved since it was read."""
        size = len(markers) + len(buckets) + len(adopters)
        if size > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"{size} items exceed one transaction")
        if not size:
            return
        try:
            with TransactWrite(connection=self._connection) as tx:
                for claim_id, marker, read_version in markers:
                    pk, sk = marker_key(claim_id)
                    body = marker.contribution.model_dump_json() if marker.contribution else "null"
                    tx.save(FinanceItem(pk=pk, sk=sk, version=marker.version, body=body),
                            condition=_unchanged(read_version))
                for (dept, month), (read, facts) in buckets.items():
                    pk, sk = bucket_key(dept, month)
                    tx.save(FinanceItem(pk=pk, sk=sk, version=(read.version or 0) + 1, body=_dump(facts)),
                            condition=_unchanged(read.version))
                for (dept, employee), (read, month) in adopters.items():
                    pk, sk = adopter_key(dept, employee)
                    tx.save(FinanceItem(pk=pk, sk=sk, version=(read.version or 0) + 1,
                                        body=json.dumps({"first_month": month})),
                            condition=_unchanged(read.version))
        except TransactWriteError as exc:
            raise ConcurrentChange("finance aggregates changed while being updated") from exc

    # ---- a backfill (services/finance.py rebuild) ---------------------------------------------------------
    @staticmethod
    def backfill_items(markers: dict[str, Applied], buckets: dict[tuple[str, str], Facts],
                       adopters: dict[tuple[str, str], str]):
        """The items a rebuild writes into an empty aggregates table (first versions)."""
        for claim_id, marker in markers.items():
            pk, sk = marker_key(claim_id)
            body = marker.contribution.model_dump_json() if marker.contribution else "null"
            yield FinanceItem(pk=pk, sk=sk, version=marker.version, body=body)
        for key, facts in buckets.items():
            pk, sk = bucket_key(*key)
            yield FinanceItem(pk=pk, sk=sk, version=1, body=_dump(facts))
        for key, month in adopters.items():
            pk, sk = adopter_key(*key)
            yield FinanceItem(pk=pk, sk=sk, version=1, body=json.dumps({"first_month": month}))

    def backfill(self, markers, buckets, adopters) -> int:
        n = 0
        with FinanceItem.batch_write() as batch:
            for item in self.backfill_items(markers, buckets, adopters):
                batch.save(item)
                n += 1
        return n

    # ---- the dashboard's reads ---------------------------------------------------------------------------
    def department_buckets(self, department_id: str, to_month: str) -> list[Bucket]:
        """Every month of a department up to `to_month` (adoption counts from the first): one Query."""
        pk, _ = bucket_key(department_id, to_month)
        items = list(FinanceItem.query(pk, FinanceItem.sk <= to_month))
        self.items_read += len(items)
        return [Bucket(department_id=department_id, month=i.sk, facts=_facts(i.body)) for i in items]


def _unchanged(read_version: int | None):
    return FinanceItem.pk.does_not_exist() if read_version is None else FinanceItem.version == read_version


class ClaimIndexes:
    """The claims table's indexes for finance: a department's claims created in a time range (by-department), and
    the sparse anomaly (by-flagged) and needs-review (by-review) queues."""

    def __init__(self):
        self.items_read = 0

    def _claims(self, items) -> list[Claim]:
        out = [claim_from_body(i.body) for i in items]
        self.items_read += len(out)
        return out

    def created_between(self, department_id: str, start: datetime, end: datetime, limit: int) -> list[Claim]:
        """Newest first, at most `limit`."""
        condition = ClaimItem.created_at.between(start.isoformat(), end.isoformat())
        return self._claims(ClaimItem.by_department.query(department_id, condition, scan_index_forward=False,
                                                          limit=limit))

    def flagged(self, department_id: str, limit: int) -> list[Claim]:
        return self._claims(ClaimItem.by_flagged.query(department_id, scan_index_forward=False, limit=limit))

    def needing_review(self, department_id: str, limit: int) -> list[Claim]:
        return self._claims(ClaimItem.by_review.query(department_id, scan_index_forward=False, limit=limit))
