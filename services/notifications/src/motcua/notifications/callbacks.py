"""The providers' delivery receipts, received over HTTP (on ``MOTCUA_HTTP_ADDR``).

- eSMS calls ``GET /v1/callbacks/esms?SMSID=…&SendStatus=…&SendSuccess=…&SendFailed=…`` when
  a message reaches its final status. eSMS signs nothing, so the callback URL we give it
  carries a shared secret (``token``), compared in constant time.
- Zalo posts OA events to ``POST /v1/callbacks/zalo``; ``user_received_message`` names the
  delivered ``msg_id``. Zalo signs each event: header ``X-ZEvent-Signature: mac=<hex>``, the
  SHA-256 of app id + raw body + timestamp + the OA's secret key.

Receipts are idempotent: providers repeat them, a repeat changes nothing. A receipt for a
message this service does not know (yet) is answered 404, so that the provider tries again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .application import NotificationsApplication

log = logging.getLogger(__name__)

# eSMS SendStatus: 5 sent successfully, 4 rejected; others are not final.
ESMS_DELIVERED = "5"
ESMS_REJECTED = "4"


@dataclass(frozen=True)
class CallbackSecrets:
    esms_token: str = ""
    zalo_app_id: str = ""
    zalo_oa_secret_key: str = ""


def zalo_signature(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret_key.encode()).hexdigest()
    return f"mac={digest}"


def callbacks_app(app: NotificationsApplication, secrets: CallbackSecrets) -> Starlette:
    def _answer(result: bool | None) -> JSONResponse:
        if result is None:
            return JSONResponse({"error": "unknown message id"}, status_code=404)
        return JSONResponse({"recorded": result})

    async def esms(request: Request) -> JSONResponse:
        params = request.query_params
        if not secrets.esms_token or not _same(params.get("token", ""), secrets.esms_token):
            return JSONResponse({"error": "bad or missing token"}, status_code=403)
        sms_id = params.get("SMSID", "")
        status = params.get("SendStatus", "")
        if not sms_id or not status:
            return JSONResponse({"error": "SMSID and SendStatus are required"}, status_code=400)
        if status not in (ESMS_DELIVERED, ESMS_REJECTED):
            return JSONResponse({"recorded": False})  # not final yet
        delivered = status == ESMS_DELIVERED and params.get("SendSuccess", "0") not in ("", "0")
        error = "" if delivered else f"eSMS SendStatus {status}, SendFailed {params.get('SendFailed', '')}"
        result = await _in_thread(app.report_delivery, "esms", sms_id, delivered, error)
        return _answer(result)

    async def zalo(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            event = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        if not isinstance(event, dict):
            return JSONResponse({"error": "the body is not a JSON object"}, status_code=400)
        timestamp = str(event.get("timestamp", ""))
        expected = zalo_signature(secrets.zalo_app_id, body, timestamp, secrets.zalo_oa_secret_key)
        given = request.headers.get("x-zevent-signature", "")
        if not secrets.zalo_oa_secret_key or not _same(given, expected):
            return JSONResponse({"error": "bad or missing signature"}, status_code=403)
        if event.get("event_name") != "user_received_message":
            return JSONResponse({"recorded": False})
        msg_id = str((event.get("message") or {}).get("msg_id", ""))
        if not msg_id:
            return JSONResponse({"error": "message.msg_id is required"}, status_code=400)
        result = await _in_thread(app.report_delivery, "zalo_zns", msg_id, True)
        return _answer(result)

    return Starlette(routes=[
        Route("/v1/callbacks/esms", esms, methods=["GET"]),
        Route("/v1/callbacks/zalo", zalo, methods=["POST"]),
    ])


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison; as bytes, since anybody may send any text (compare_digest
    refuses non-ASCII strings)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


async def _in_thread(function, *args):
    return await run_in_threadpool(function, *args)  # the event store is synchronous
