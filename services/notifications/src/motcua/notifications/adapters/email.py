"""E-mail over SMTP (smtplib): STARTTLS and authentication as configured, a Vietnamese
subject encoded per RFC 2047, a plain-text part and an HTML part.

The message is written directly as the bytes SMTP carries (CRLF lines), not through Python's
``email`` package: every message has the same shape (a multipart/alternative of a UTF-8 text
and HTML part in quoted-printable, a handful of headers), and the package's generator, header
folding and quoted-printable encoder, all pure Python, cost about as much CPU as the rest of
a send together (the two life-cycle commits included). Here the quoted-printable encoding is
``binascii``'s (C), a non-ASCII subject is RFC 2047 base64 encoded words of whole characters,
at most 75 characters each, one to a folded line within 76, and what depends on the settings
only (the From header, its name one encoded word) is written once. A mail client reads back
exactly what was rendered (tests/notifications/test_email_*.py). The provider id of a
message is its Message-ID.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import smtplib
import ssl
import threading
import uuid
from dataclasses import dataclass
from email.utils import formataddr, formatdate, make_msgid
from functools import lru_cache

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

CRLF = "\r\n"
# RFC 2047: an encoded word is at most 75 characters, and a line holding one at most 76.
_MAX_WORD = 75
_MAX_LINE = 76
_WORD_OVERHEAD = len("=?utf-8?b??=")
# A header line's soft limit (RFC 5322): an ASCII subject is folded at spaces within it.
_FOLD_AT = 78


@dataclass(frozen=True)
class Email:
    """A message as written for SMTP (unsigned), with what its sender and tests refer to."""

    message_id: str
    boundary: str
    data: bytes


def _encoded_words(text: str, first_line_room: int) -> str:
    """``text`` as base64 encoded words of whole characters (a decoder joins adjacent words
    with nothing between them, so the text reads back exactly), the first fitting in
    ``first_line_room`` characters, each next one on a folded line of its own."""
    words: list[str] = []
    room = min(_MAX_WORD, first_line_room)
    chunk = bytearray()
    for character in text:
        encoded = character.encode()
        # Base64 of n bytes is 4 * ceil(n / 3) characters.
        if chunk and _WORD_OVERHEAD + 4 * -(-(len(chunk) + len(encoded)) // 3) > room:
            words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode()}?=")
            chunk = bytearray()
            room = _MAX_LINE - 1  # after the folding space
        chunk += encoded
    words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode()}?=")
    return (CRLF + " ").join(words)


def _plain(text: str) -> bool:
    """Text a header carries as it is: printable ASCII (no line breaks to inject headers with)."""
    return text.isascii() and text.isprintable()


def _folded(name: str, text: str) -> str:
    """A header of plain text, folded at spaces to stay within 78 characters where it can."""
    line = f"{name}: "
    lines: list[str] = []
    for word in text.split(" "):
        if len(line) + len(word) > _FOLD_AT and line.strip() and not line.endswith(": "):
            lines.append(line.rstrip(" "))
            line = " "
        line += word + " "
    lines.append(line[:-1])
    return CRLF.join(lines)


def _text_header(name: str, text: str) -> str:
    if _plain(text):
        return _folded(name, text)
    return f"{name}: {_encoded_words(text, _MAX_LINE - len(name) - 2)}"


@lru_cache(maxsize=16)
def _from_header(sender_name: str, sender: str) -> str:
    """Written once per setting. A non-ASCII name is one encoded word: mail clients read the
    words of an address's display name apart, with a space between (unlike a subject's)."""
    line = f"From: {formataddr((sender_name, sender), charset='utf-8')}"
    name, _, address = line.rpartition(" <")
    return line if len(line) <= _FOLD_AT or not name else f"{name}{CRLF} <{address}"


def _quoted_printable(text: str) -> bytes:
    """UTF-8 quoted-printable with CRLF line breaks and lines within 76 (binascii keeps the
    input's CRLF breaks as they are and breaks longer lines softly): 7-bit clean, so any relay
    takes it (8BITMIME or not), and still legible."""
    # Ended by a line break, so that binascii, which writes breaks as the first one it finds,
    # writes its soft ones as CRLF too; the break is the delimiter's, not the text's: dropped.
    lines = text.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n"
    return binascii.b2a_qp(lines.encode(), istext=True)[:-2]


def _part(subtype: str, boundary: str, text: str) -> bytes:
    return (f"--{boundary}{CRLF}Content-Type: text/{subtype}; charset=\"utf-8\"{CRLF}"
            f"Content-Transfer-Encoding: quoted-printable{CRLF}{CRLF}").encode() + _quoted_printable(text) + b"\r\n"


def _boundary() -> str:
    # "=_" never appears in a quoted-printable part (its "=" is written "=3D"), so the boundary
    # needs no search through the parts.
    return f"=_motcua_{uuid.uuid4().hex}"


def build_message(settings: SmtpSettings, message: Outgoing) -> Email:
    if "\r" in message.address or "\n" in message.address:
        raise PermanentFailure("the address holds a line break", bounced=True)
    boundary = _boundary()
    domain = settings.sender.rpartition("@")[2] or None
    message_id = make_msgid(idstring=message.notification_id.hex, domain=domain)
    head = CRLF.join((
        _from_header(settings.sender_name, settings.sender),
        f"To: {message.address}",
        _text_header("Subject", message.subject),
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {message_id}",  # never folded: receivers compare it as written
        "MIME-Version: 1.0",
        f"Content-Type: multipart/alternative; boundary=\"{boundary}\"",
    ))
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in message.body.splitlines() if line.strip())
    page = (f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{html.escape(message.subject)}'
            f"</title></head><body>{paragraphs}</body></html>")
    data = b"".join((
        head.encode(), b"\r\n\r\n",
        _part("plain", boundary, message.body),
        _part("html", boundary, page),
        f"--{boundary}--{CRLF}".encode(),
    ))
    return Email(message_id=message_id, boundary=boundary, data=data)


def wire_bytes(settings: SmtpSettings, mail: Email) -> bytes:
    """The message as sent (CRLF lines), with a DKIM-Signature header first when a key is set."""
    if not settings.dkim_key:
        return mail.data
    signature = dkim.sign(mail.data, settings.dkim_selector.encode(), settings.dkim_domain.encode(),
                          settings.dkim_key, canonicalize=(b"relaxed", b"relaxed"), include_headers=DKIM_HEADERS)
    return signature + mail.data


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
        return mail.message_id

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
