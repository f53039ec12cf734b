"""Business events, sent inside the transaction of the change they report.

`layers` and `compliance` send them; a face (exchange/) subscribes. A subscriber's writes are part
of the sender's transaction (a transactional outbox): they commit with the change or not at all,
and a subscriber's error rolls the change back rather than losing the event.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

__all__ = ["version_activated", "site_revised", "check_stored", "send"]

version_activated = Signal()  # layer=Layer, version=LayerVersion: an import switched the active version
site_revised = Signal()  # revision=SiteRevision: a project's site boundary got a new revision
check_stored = Signal()  # check=Check: a compliance check was stored


def send(signal: Signal, **payload) -> None:
    """Tell the subscribers, inside the current transaction (outside one is a bug of the sender)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("business events are sent inside the transaction of their change")
    signal.send(sender=None, **payload)
