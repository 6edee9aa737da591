"""Posting records in DynamoDB (`postings`, period / claim id): see chalicelib/domain/posting_record.py.

`queue` creates the record once (a redelivered hand-off keeps the first); `save` is conditional on the version
read, so two workers holding the same claim cannot overwrite each other's outcome.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.adapters.dynamo_models import PostingItem
from chalicelib.domain.errors import ConcurrentChange
from chalicelib.domain.posting_record import PostingRecord


class PostingRecords:
    def queue(self, record: PostingRecord) -> PostingRecord:
        try:
            PostingItem(period=record.period, claim_id=record.claim_id, version=record.version,
                        body=record.model_dump_json()).save(condition=PostingItem.claim_id.does_not_exist())
            return record
        except PutError:
            existing = self.get(record.period, record.claim_id)
            if existing is None:
                raise
            return existing

    def get(self, period: str, claim_id: str) -> PostingRecord | None:
        try:
            return PostingRecord.model_validate_json(PostingItem.get(period, claim_id, consistent_read=True).body)
        except DoesNotExist:
            return None

    def save(self, before: PostingRecord, after: PostingRecord) -> PostingRecord:
        after = after.model_copy(update={"version": before.version + 1})
        try:
            PostingItem(period=after.period, claim_id=after.claim_id, version=after.version,
                        body=after.model_dump_json()).save(condition=PostingItem.version == before.version)
        except PutError as e:
            raise ConcurrentChange(f"posting record {after.claim_id} changed") from e
        return after

    def by_period(self, period: str) -> list[PostingRecord]:
        return [PostingRecord.model_validate_json(item.body) for item in PostingItem.query(period)]


class MemoryPostingRecords:
    def __init__(self) -> None:
        self.held: dict[tuple[str, str], PostingRecord] = {}

    def queue(self, record: PostingRecord) -> PostingRecord:
        return self.held.setdefault((record.period, record.claim_id), record)

    def get(self, period: str, claim_id: str) -> PostingRecord | None:
        return self.held.get((period, claim_id))

    def save(self, before: PostingRecord, after: PostingRecord) -> PostingRecord:
        held = self.held.get((after.period, after.claim_id))
        if held is None or held.version != before.version:
            raise ConcurrentChange(after.claim_id)
        after = after.model_copy(update={"version": before.version + 1})
        self.held[(after.period, after.claim_id)] = after
        return after

    def by_period(self, period: str) -> list[PostingRecord]:
        return [r for (p, _), r in sorted(self.held.items()) if p == period]
