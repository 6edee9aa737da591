"""Finance's vendor directory entries in DynamoDB, merged over the shipped seed (chalicelib/domain/vendors.py).

Why a Scan: the table holds what finance added or changed, tens to a few hundred rows; every reader needs all of
them at once (a directory is matched as a whole), and a warm container keeps the merged directory for
``REFRESH_SECONDS`` so a receipt does not cost a read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.adapters.dynamo_models import VendorItem
from chalicelib.domain.errors import ConcurrentChange
from chalicelib.domain.vendors import Vendor, VendorDirectory, seed_directory

#: How long a container trusts its merged directory before reading finance's entries again.
REFRESH_SECONDS = 300.0


class VendorStore:
    def __init__(self, seed: VendorDirectory | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._seed = seed
        self._clock = clock
        self._cached: tuple[float, VendorDirectory] | None = None

    def entries(self) -> list[Vendor]:
        """Finance's entries, by id."""
        items = sorted(VendorItem.scan(), key=lambda item: item.vendor_id)
        return [Vendor.model_validate_json(item.body) for item in items]

    def get(self, vendor_id: str) -> Vendor | None:
        try:
            return Vendor.model_validate_json(VendorItem.get(vendor_id).body)
        except DoesNotExist:
            return None

    def put(self, vendor: Vendor, actor_id: str, *, new: bool) -> Vendor:
        """Store finance's version of an entry; ``new`` refuses an id finance already has (POST vs PUT)."""
        stored = vendor.model_copy(update={"source": "finance"})
        item = VendorItem(vendor_id=stored.id, body=stored.model_dump_json(), updated_by=actor_id,
                          updated_at=datetime.now(UTC).isoformat())
        try:
            item.save(condition=VendorItem.vendor_id.does_not_exist() if new else None)
        except PutError as exc:
            if new:
                raise ConcurrentChange(f"vendor {stored.id} already exists: change it with PUT") from exc
            raise
        self._cached = None
        return stored

    def directory(self) -> VendorDirectory:
        """The seed with finance's entries over it, re-read at most every ``REFRESH_SECONDS``."""
        now = self._clock()
        if self._cached is None or now - self._cached[0] >= REFRESH_SECONDS:
            seed = self._seed if self._seed is not None else seed_directory()
            self._cached = (now, seed.with_entries(self.entries()))
        return self._cached[1]
