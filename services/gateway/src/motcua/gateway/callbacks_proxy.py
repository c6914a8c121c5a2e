"""The SMS and Zalo providers' delivery receipts under the gateway's URL:
``/v1/notifications/callbacks/{provider}`` is passed to the notifications service's HTTP port
as ``/v1/callbacks/{provider}`` (MOTCUA_NOTIFICATIONS_CALLBACKS_URL).

The providers reach one public address, the gateway's, while the notifications service's HTTP
port stays internal. The gateway checks nothing of a receipt: the body, the query (eSMS's
shared token) and the headers (Zalo's ``X-ZEvent-Signature``) reach notifications as they came,
and notifications verifies them. Bodies are limited as for identity's endpoints (a receipt is
a few hundred bytes).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from .identity_proxy import IdentityProxy

PATH = "/v1/notifications/callbacks/{provider}"


class CallbacksProxy(IdentityProxy):
    backend = "notifications"

    def routes(self) -> list[Route]:
        # eSMS calls with GET, Zalo posts.
        return [Route(PATH, self.forward, methods=["GET", "POST"])]

    def target(self, request: Request) -> str:
        return f"/v1/callbacks/{request.path_params['provider']}"
