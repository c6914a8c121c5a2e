"""E-mail over SMTP (smtplib): STARTTLS and authentication as configured, a Vietnamese
subject encoded per RFC 2047, a plain-text part and an HTML part.

Python's ``email`` package (policy ``SMTP``) writes a non-ASCII subject as RFC 2047 encoded
words and the bodies as UTF-8; the receiving side reads back exactly what was rendered.
The provider id of a message is its Message-ID.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, make_msgid

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


def build_message(settings: SmtpSettings, message: Outgoing) -> EmailMessage:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = formataddr((settings.sender_name, settings.sender))
    mail["To"] = message.address
    mail["Subject"] = message.subject
    domain = settings.sender.rpartition("@")[2] or None
    mail["Message-ID"] = make_msgid(idstring=message.notification_id.hex, domain=domain)
    # Quoted-printable: 7-bit clean, so any relay takes it (8BITMIME or not), and still legible.
    mail.set_content(message.body, charset="utf-8", cte="quoted-printable")
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in message.body.splitlines() if line.strip())
    mail.add_alternative(
        f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{html.escape(message.subject)}</title>'
        f"</head><body>{paragraphs}</body></html>",
        subtype="html",
        charset="utf-8",
        cte="quoted-printable",
    )
    return mail


class SmtpChannel:
    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._client: smtplib.SMTP | None = None

    def send(self, message: Outgoing) -> str:
        mail = build_message(self.settings, message)
        try:
            refused = self._connected().send_message(mail)
        except smtplib.SMTPRecipientsRefused as e:
            code, reason = next(iter(e.recipients.values()))
            raise self._failure(code, reason, recipient=True) from None
        except smtplib.SMTPResponseException as e:
            self.close()
            raise self._failure(e.smtp_code, e.smtp_error) from None
        except (TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as e:
            self.close()
            raise TransientFailure(f"SMTP server {self.settings.host}:{self.settings.port} unreachable: {e}") from None
        except smtplib.SMTPException as e:  # e.g. STARTTLS not offered: a server being reconfigured
            self.close()
            raise TransientFailure(f"SMTP: {e}") from None
        if refused:  # one recipient only: refused means refused
            code, reason = next(iter(refused.values()))
            raise self._failure(code, reason, recipient=True)
        return str(mail["Message-ID"])

    @staticmethod
    def _failure(code: int, reason: bytes | str, recipient: bool = False) -> Exception:
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        if 400 <= code < 500:  # RFC 5321: 4yz is a transient negative completion
            return TransientFailure(f"SMTP {code} {text}")
        return PermanentFailure(f"SMTP {code} {text}", bounced=recipient)

    def _connected(self) -> smtplib.SMTP:
        if self._client is not None:
            try:
                if self._client.noop()[0] == 250:
                    return self._client
            except (smtplib.SMTPException, OSError):
                pass
            self.close()
        s = self.settings
        client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
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
        except BaseException:
            client.close()
            raise
        self._client = client
        return client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
