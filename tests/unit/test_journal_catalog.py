from __future__ import annotations

import re

from smartrestart.journal.events import EVENTS, render_catalog
from tests.testbed import PROJECT


def test_shipped_catalog_is_rendered_from_the_event_table() -> None:
    shipped = (PROJECT / "packaging/catalog/smartrestart.catalog").read_text()
    assert shipped == render_catalog(), (
        "regenerate: python -m smartrestart.journal > packaging/catalog/..."
    )


def test_message_ids_are_unique_128_bit_ids() -> None:
    ids = [event.message_id for event in EVENTS.values()]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
