"""What every channel adapter takes and raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class Outgoing:
    """One message to send: already rendered, addressed (an e-mail address, or a phone number
    in E.164) and identified (the notification id, which providers echo back for
    de-duplication and in their receipts)."""

    notification_id: UUID
    address: str
    subject: str
    body: str
    template_key: str
    template_version: int
    parameters: Mapping[str, str] = field(default_factory=dict)


class TransientFailure(Exception):
    """The provider may accept the message later. ``retry_after``: seconds it asked to wait."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """Sending this message again would fail the same way. ``bounced``: the address itself
    was refused (no such mailbox, no such number, no Zalo account), rather than the message."""

    def __init__(self, reason: str, bounced: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.bounced = bounced


class Channel(Protocol):
    """A provider of one channel. ``name`` names the provider in events (esms, zalo_zns, smtp)."""

    name: str

    def send(self, message: Outgoing) -> str:
        """Hands the message to the provider; returns the provider's id of it."""
        ...

    def close(self) -> None: ...
