"""Fixtures shared by the ledger adapter tests: a clock the adapters' waits move forward, so nothing sleeps."""

from __future__ import annotations

import pytest

from tests.unit.adapters.test_xero import Clock, Sleeper


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeper(clock) -> Sleeper:
    return Sleeper(clock)
