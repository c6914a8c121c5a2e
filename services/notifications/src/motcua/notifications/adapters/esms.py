"""SMS brandname through eSMS (eSMS.vn / ViHAT), customer-care messages (SmsType 2).

Follows eSMS's documented API:
``POST {base}/MainService.svc/json/SendMultipleMessage_V4_post_json/`` with a JSON body
``{ApiKey, SecretKey, Phone, Content, Brandname, SmsType: "2", IsUnicode,
RequestId, CallbackUrl}``; the answer ``{"CodeResult": "100", "SMSID": …}`` means accepted,
other codes name the error (table of error codes: 99 number blocked, 101 wrong keys,
103 balance, 104 unknown brandname, 108 malformed number, 124 duplicate RequestId,
146 customer-care template not registered, …). The final status comes later to
``CallbackUrl`` by HTTP GET (``SMSID``, ``SendStatus``, ``SendSuccess``, ``SendFailed``).

``RequestId`` is the notification id: a send repeated after a crash is answered 124
(duplicate) instead of reaching the phone twice.

Customer-care texts must match a template registered with the carriers, and carriers bill
by segment: the adapter sends the unaccented text (GSM-7, 160 characters a segment) unless
``unicode`` is set (UCS-2, 70).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx2

from motcua.kernel.text import unaccented

from ..phones import national_form
from .base import Outgoing, PermanentFailure, TransientFailure
from .http import post_json

SEND_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"

# CodeResult -> (reason, the address itself is refused).
PERMANENT_CODES = {
    "99": ("the number is blocked", True),
    "101": ("wrong ApiKey or SecretKey", False),
    "102": ("no price list", False),
    "103": ("balance too low", False),
    "104": ("brandname not registered", False),
    "108": ("malformed phone number", True),
    "140": ("IP address not whitelisted", False),
    "146": ("customer-care template not registered", False),
    "177": ("carrier not registered for the brandname", True),
}
ACCEPTED = "100"
DUPLICATE_REQUEST = "124"


@dataclass(frozen=True)
class EsmsSettings:
    base_url: str
    api_key: str
    secret_key: str
    brandname: str
    callback_url: str = ""
    unicode: bool = False
    timeout: float = 10.0


class EsmsChannel:
    name = "esms"

    def __init__(self, settings: EsmsSettings) -> None:
        self.settings = settings
        self.client = httpx2.Client(timeout=settings.timeout)

    def send(self, message: Outgoing) -> str:
        s = self.settings
        answer = post_json(self.client, "eSMS", s.base_url.rstrip("/") + SEND_PATH, {
            "ApiKey": s.api_key,
            "SecretKey": s.secret_key,
            "Phone": national_form(message.address),
            "Content": message.body if s.unicode else unaccented(message.body),
            "Brandname": s.brandname,
            "SmsType": "2",
            "IsUnicode": "1" if s.unicode else "0",
            "RequestId": str(message.notification_id),
            "CallbackUrl": s.callback_url,
        })
        code = str(answer.get("CodeResult", ""))
        if code == ACCEPTED or (code == DUPLICATE_REQUEST and answer.get("SMSID")):
            return str(answer["SMSID"])
        if code == DUPLICATE_REQUEST:
            # Sent before (a crash between the provider's answer and our record of it).
            return f"request:{message.notification_id}"
        if code in PERMANENT_CODES:
            reason, bounced = PERMANENT_CODES[code]
            raise PermanentFailure(f"eSMS {code}: {reason}", bounced=bounced)
        raise TransientFailure(f"eSMS {code or 'no CodeResult'}: {answer.get('ErrorMessage', '')}")

    def close(self) -> None:
        self.client.close()
