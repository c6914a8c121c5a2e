"""Zalo Notification Service (ZNS): template messages to a phone number's Zalo account.

Follows Zalo's documented API: ``POST {base}/message/template`` with header ``access_token``
(the Official Account's) and body ``{phone: "84…", template_id, template_data: {…},
tracking_id}``; the answer ``{"error": 0, "data": {"msg_id": …}}`` means accepted, a
negative ``error`` names what went wrong (-108 invalid phone, -109 invalid template id,
-112 invalid template data, -114 user inactive or refusing, -115 out of quota, -117 the
template is not approved for this OA/app, -118 no Zalo account, -124 invalid access token).
The delivery receipt comes to the OA's webhook as event ``user_received_message``.

A ZNS template is registered and approved by Zalo beforehand, with its own id; the text
is Zalo's, filled with ``template_data``: the notification's parameters.
``tracking_id`` is the notification id, echoed back in the receipt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx2

from .base import Outgoing, PermanentFailure, TransientFailure
from .http import post_json

SEND_PATH = "/message/template"

# error -> (reason, the address itself is refused). Others (-100 unknown, -1xx internal) are
# transient.
PERMANENT_ERRORS = {
    -108: ("invalid phone number", True),
    -109: ("invalid template id", False),
    -111: ("empty template data", False),
    -112: ("invalid template data", False),
    -114: ("the user is inactive or refuses ZNS", True),
    -115: ("out of quota", False),
    -117: ("template not approved for this OA or app", False),
    -118: ("no Zalo account for this number", True),
    -124: ("invalid access token", False),
}


@dataclass(frozen=True)
class ZaloSettings:
    base_url: str
    access_token: str
    # Our template key -> the id Zalo gave the approved ZNS template.
    template_ids: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0


class ZaloZnsChannel:
    name = "zalo_zns"

    def __init__(self, settings: ZaloSettings) -> None:
        self.settings = settings
        self.client = httpx2.Client(timeout=settings.timeout)

    def send(self, message: Outgoing) -> str:
        s = self.settings
        zns_template = s.template_ids.get(message.template_key)
        if not zns_template:
            raise PermanentFailure(f"no approved ZNS template for {message.template_key}")
        answer = post_json(self.client, "Zalo ZNS", s.base_url.rstrip("/") + SEND_PATH, {
            "phone": message.address.removeprefix("+"),
            "template_id": zns_template,
            "template_data": dict(message.parameters),
            "tracking_id": str(message.notification_id),
        }, headers={"access_token": s.access_token})
        error = answer.get("error")
        if error == 0:
            return str((answer.get("data") or {}).get("msg_id", ""))
        if error in PERMANENT_ERRORS:
            reason, bounced = PERMANENT_ERRORS[error]
            raise PermanentFailure(f"Zalo ZNS {error}: {reason}", bounced=bounced)
        raise TransientFailure(f"Zalo ZNS {error}: {answer.get('message', '')}")

    def close(self) -> None:
        self.client.close()
