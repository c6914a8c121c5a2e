"""Channels: how a rendered notification reaches a person, one adapter per provider.

Each adapter turns an ``Outgoing`` message into one request of its provider's protocol and
answers with the provider's id of the message, or raises ``TransientFailure`` (worth trying
again later: throttling, 5xx, timeouts, a lost connection) or ``PermanentFailure`` (trying
again changes nothing: an invalid number, a template the provider has not approved, a
refused mailbox). The sender worker decides what to do with either; adapters never retry.
"""

from .base import Channel, Outgoing, PermanentFailure, TransientFailure

__all__ = ["Channel", "Outgoing", "PermanentFailure", "TransientFailure"]
