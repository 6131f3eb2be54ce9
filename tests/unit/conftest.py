"""Fixtures every unit test gets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smartrestart.errors import ActionLedger


@pytest.fixture(autouse=True)
def fresh_ledger() -> Iterator[None]:
    """Each test starts with nothing recorded as acted (the ledger is process-wide)."""
    ActionLedger.reset()
    yield
    ActionLedger.reset()
