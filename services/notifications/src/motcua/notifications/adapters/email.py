"""E-mail over SMTP (smtplib): STARTTLS and authentication as configured, a Vietnamese
subject encoded per RFC 2047, a plain-text part and an HTML part.

Python's ``email`` package writes a non-ASCII subject and sender name as RFC 2047 encoded
words and the bodies as UTF-8 in quoted-printable; the receiving side reads back exactly what
was rendered. The message is built with the ``compat32`` classes (``email.mime``, ``Header``):
the same message as ``EmailMessage`` with policy ``SMTP`` writes, for a fifth of the
CPU (that policy parses every header it is given back through its header registry), which
bounds the e-mails one sender process puts out a second. The provider id of a message is its
Message-ID.
"""

from __future__ import annotations

import html
import re
import smtplib
import ssl
import threading
import uuid
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid

import dkim  # type: ignore[import-untyped]  # dkimpy ships no type hints

from .base import Outgoing, PermanentFailure, TransientFailure


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    starttls: bool = True
    username: str = ""
    password: str = ""
    sender: str = "no-reply@motcua.local"  # the From address
    sender_name: str = "Bộ phận Một cửa"
    timeout: float = 10.0
    # DKIM (RFC 6376): the signing domain, the selector its DNS publishes the key under, and
    # the private key (PEM); no signature without a key.
    dkim_domain: str = ""
    dkim_selector: str = ""
    dkim_key: bytes = b""


# Headers the DKIM signature covers: those a forger would change.
DKIM_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"]


# Lines ending CRLF as SMTP wants them; a header folded only within RFC 5322's hard limit, so
# a Message-ID stays on its line (receivers compare it as written) ...
_WIRE = compat32.clone(linesep="\r\n", max_line_length=998)


class _EncodedWords(Header):
    """... while a non-ASCII text is RFC 2047 encoded words of at most 75 characters, folded
    within 76."""

    def encode(self, splitchars: str = ";, \t", maxlinelen: int | None = None, linesep: str = "\n") -> str:
        return super().encode(splitchars, 76, linesep)


def _text(header: str, text: str) -> str | Header:
    return text if text.isascii() else _EncodedWords(text, "utf-8", header_name=header)


# UTF-8 bodies in quoted-printable: 7-bit clean, so any relay takes them (8BITMIME or not),
# and still legible.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def wire_bytes(settings: SmtpSettings, mail: Message) -> bytes:
    """The message as sent (CRLF lines), with a DKIM-Signature header first when a key is set."""
    data = mail.as_bytes(policy=_WIRE)
    if not settings.dkim_key:
        return data
    signature = dkim.sign(data, settings.dkim_selector.encode(), settings.dkim_domain.encode(), settings.dkim_key,
                          canonicalize=(b"relaxed", b"relaxed"), include_headers=DKIM_HEADERS)
    return signature + data


def _text_part(subtype: str, text: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype, charset="utf-8", policy=_WIRE)
    part.set_payload(text, _UTF8_QP)
    del part["MIME-Version"]  # said once, at the top
    return part


def _boundary() -> str:
    # "=_" never appears in a quoted-printable part (its "=" is written "=3D"), so the boundary
    # needs no search through the parts; the generator's own search compiled a new regular
    # expression for every message, a quarter of a millisecond each.
    return f"=_motcua_{uuid.uuid4().hex}"


def build_message(settings: SmtpSettings, message: Outgoing) -> Message:
    mail = MIMEMultipart("alternative", boundary=_boundary(), policy=_WIRE)
    mail["From"] = formataddr((settings.sender_name, settings.sender), charset="utf-8")
    mail["To"] = message.address
    mail["Subject"] = _text("Subject", message.subject)  # type: ignore[assignment]  # compat32 takes a Header
    mail["Date"] = formatdate(localtime=False)
    domain = settings.sender.rpartition("@")[2] or None
    mail["Message-ID"] = make_msgid(idstring=message.notification_id.hex, domain=domain)
    mail.attach(_text_part("plain", message.body))
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in message.body.splitlines() if line.strip())
    mail.attach(_text_part(
        "html",
        f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{html.escape(message.subject)}</title>'
        f"</head><body>{paragraphs}</body></html>",
    ))
    return mail


class SmtpChannel:
    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        # Open connections, kept between messages (one per sender thread at most): a new
        # connection costs a TCP and, with STARTTLS, a TLS handshake and a login.
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> str:
        mail = build_message(self.settings, message)
        # Sent as these bytes: re-serialising would break the DKIM signature.
        data = wire_bytes(self.settings, mail)
        client = self._acquire()
        try:
            try:
                refused = client.sendmail(self.settings.sender, [message.address], data)
            except smtplib.SMTPServerDisconnected:
                # A kept connection the server closed meanwhile (idle timeout): once more, anew.
                self._discard(client)
                client = self._connect()
                refused = client.sendmail(self.settings.sender, [message.address], data)
        except smtplib.SMTPRecipientsRefused as e:
            self._release(client)  # the session is reset: still usable
            code, reason = next(iter(e.recipients.values()))
            raise self._failure(code, reason, message.address, recipient=True) from None
        except smtplib.SMTPResponseException as e:
            self._discard(client)
            raise self._failure(e.smtp_code, e.smtp_error, message.address) from None
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as e:
            self._discard(client)
            raise TransientFailure(f"SMTP server {self.settings.host}:{self.settings.port} unreachable: {e}") from None
        except smtplib.SMTPException as e:
            self._discard(client)
            raise TransientFailure(f"SMTP: {e}") from None
        self._release(client)
        if refused:  # one recipient only: refused means refused
            code, reason = next(iter(refused.values()))
            raise self._failure(code, reason, message.address, recipient=True)
        return str(mail["Message-ID"])

    def _acquire(self) -> smtplib.SMTP:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _release(self, client: smtplib.SMTP) -> None:
        with self._lock:
            self._idle.append(client)

    @staticmethod
    def _discard(client: smtplib.SMTP) -> None:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()

    def _connect(self) -> smtplib.SMTP:
        """A new connection, greeted, secured and logged in as configured; TransientFailure when
        the server cannot be reached, PermanentFailure when it refuses the login."""
        s = self.settings
        try:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        except (TimeoutError, OSError, smtplib.SMTPException) as e:
            raise TransientFailure(f"SMTP server {s.host}:{s.port} unreachable: {e}") from None
        try:
            client.ehlo()
            if s.starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if s.username:
                client.login(s.username, s.password)
        except smtplib.SMTPAuthenticationError as e:
            client.close()
            raise PermanentFailure(f"SMTP authentication refused: {e.smtp_code}") from None
        except (TimeoutError, OSError, smtplib.SMTPException) as e:  # e.g. STARTTLS not offered
            client.close()
            raise TransientFailure(f"SMTP server {s.host}:{s.port}: {e}") from None
        return client

    @staticmethod
    def _failure(code: int, reason: bytes | str, address: str, recipient: bool = False) -> Exception:
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        # Servers often quote the address; the error is recorded and logged, the address is not.
        text = re.sub(re.escape(address), "<recipient>", text, flags=re.IGNORECASE) if address else text
        if 400 <= code < 500:  # RFC 5321: 4yz is a transient negative completion
            return TransientFailure(f"SMTP {code} {text}")
        return PermanentFailure(f"SMTP {code} {text}", bounced=recipient)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            self._discard(client)
