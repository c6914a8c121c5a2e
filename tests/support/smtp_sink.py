"""A real SMTP server (aiosmtpd) that keeps what it receives, for the notifications tests."""

from __future__ import annotations

import asyncio
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from motcua.devstack import free_port


class _Keep:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's hook)
        if address.split("@")[0] in self.sink.unknown_mailboxes:
            return f"550 5.1.1 <{address}>: No such mailbox"
        if address.split("@")[0] in self.sink.held_mailboxes:
            # A slow server: this transaction waits (its session only) until the test releases it.
            self.sink.holding.set()
            while not self.sink.released.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        self.sink._received(envelope.rcpt_tos, envelope.content)
        if any(address.split("@")[0] in self.sink.held_after_data for address in envelope.rcpt_tos):
            # Kept, and the reply held until the test releases it: a sender that dies meanwhile
            # never hears that the message was taken.
            self.sink.holding_reply.set()
            while not self.sink.released.is_set():
                await asyncio.sleep(0.05)
        return "250 Message accepted"


class SmtpSink:
    def __init__(self, held_mailboxes: set[str] | None = None, held_after_data: set[str] | None = None) -> None:
        self.port = free_port()
        self.unknown_mailboxes: set[str] = set()
        # Mailboxes whose transactions wait at RCPT until ``released`` is set (``holding``: one
        # does).
        self.held_mailboxes: set[str] = set(held_mailboxes or ())
        self.holding = threading.Event()
        # Mailboxes whose messages are kept at once but answered only once ``released`` is set
        # (``holding_reply``: one is waiting).
        self.held_after_data: set[str] = set(held_after_data or ())
        self.holding_reply = threading.Event()
        self.released = threading.Event()
        self.messages: list[tuple[list[str], bytes]] = []
        self._arrived = threading.Condition()
        self.controller = Controller(_Keep(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.released.set()  # a transaction still held would keep the server from stopping
        self.controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _received(self, recipients: list[str], content: bytes) -> None:
        with self._arrived:
            self.messages.append((list(recipients), content))
            self._arrived.notify_all()

    def wait_for(self, recipient: str, timeout: float = 60) -> EmailMessage:
        """The first message to ``recipient``, parsed (headers decoded)."""
        def found():
            return next((c for r, c in self.messages if recipient in r), None)

        with self._arrived:
            assert self._arrived.wait_for(lambda: found() is not None, timeout), f"no e-mail to {recipient}"
            content = found()
        return message_from_bytes(content, policy=policy.default)

    def count_to(self, recipient: str) -> int:
        with self._arrived:
            return sum(1 for r, _ in self.messages if recipient in r)
