"""Errors as HTTP responses: the gRPC status, its HTTP status, and its google.rpc details as JSON.

Every error the gateway answers, its own or a backend's, has the same body:

    {"error": {"code": 404, "status": "NOT_FOUND", "message": "...", "details": [
        {"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resource_type": "...", ...}]}}

`code` is the HTTP status, `status` the canonical gRPC code name, `details` the status's
google.rpc details (BadRequest with its field violations, ResourceInfo, PreconditionFailure,
ErrorInfo, ...), each rendered by the proto3 JSON mapping with its `@type`, field names as in
the protos (as everywhere in the gateway's JSON; see transcode.py). Every error has a
google.rpc.LocalizedMessage for people, in the request's Accept-Language (vi-VN or en; kernel
localized), and a throttled call's RetryInfo is also its Retry-After header.

gRPC code -> HTTP status follows google/rpc/code.proto's "HTTP Mapping" lines, the mapping
Google's own APIs and grpc-gateway use. In particular FAILED_PRECONDITION is 400, not 409:
code.proto maps it to 400 and keeps 409 for ABORTED (a concurrency conflict: retrying the
read-modify-write may succeed) and ALREADY_EXISTS; a failed precondition (e.g. publishing a
procedure that is not a draft) will not succeed on retry until the state is fixed. Clients tell
the 400s apart by `status` and by the PreconditionFailure / ErrorInfo details.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from contextvars import ContextVar

import grpc
from google.protobuf import any_pb2, duration_pb2, json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2  # noqa: F401  (details types for JSON)
from starlette.responses import JSONResponse

from motcua.kernel.grpc_errors import pack_details
from motcua.kernel.localized import DEFAULT_LOCALE, catalogue_key, has_localized, localized_message

log = logging.getLogger(__name__)

STATUS_DETAILS_KEY = "grpc-status-details-bin"

HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}

# The gateway's own HTTP-level errors (no route, wrong method, ...) named with the closest code.
_STATUS_OF_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",  # the resource exists; this HTTP method is not one of its operations
    409: "ABORTED",
    412: "FAILED_PRECONDITION",  # an If-Match that no longer holds
    413: "RESOURCE_EXHAUSTED",  # what gRPC says of a message over its limit
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def status_name_for_http(http_status: int) -> str:
    return _STATUS_OF_HTTP.get(http_status, "UNKNOWN" if http_status >= 500 else "INVALID_ARGUMENT")


def render_details(details: Iterable[any_pb2.Any]) -> list[dict]:
    rendered = []
    for item in details:
        try:
            rendered.append(json_format.MessageToDict(item, preserving_proto_field_name=True))
        except Exception:  # a detail type this gateway does not know: its bytes, still with the @type
            rendered.append({"@type": item.type_url, "value": base64.b64encode(item.value).decode()})
    return rendered


# The language of the request being answered (its Accept-Language, see app.AccessLog): the
# errors' LocalizedMessage is in it.
REQUEST_LOCALE: ContextVar[str] = ContextVar("motcua_request_locale", default=DEFAULT_LOCALE)


def error_body(http_status: int, status: str, message: str, details: Iterable[any_pb2.Any] = ()) -> dict:
    """The error's JSON; with a google.rpc.LocalizedMessage for people in the request's language
    beside the developer message, from the kernel's catalogue when the service sent none."""
    details = list(details)
    if not has_localized(details):
        localized = any_pb2.Any()
        localized.Pack(localized_message(catalogue_key(status, details), REQUEST_LOCALE.get()))
        details.append(localized)
    return {"error": {"code": http_status, "status": status, "message": message, "details": render_details(details)}}


RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def retry_after(body: dict) -> dict[str, str]:
    """A Retry-After header (whole seconds) when the error's details carry a RetryInfo."""
    for detail in body.get("error", {}).get("details", ()):
        delay = detail.get("retry_delay") if detail.get("@type") == RETRY_INFO else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                seconds = float(delay[:-1])
            except ValueError:
                continue
            return {"Retry-After": str(max(1, int(seconds + 0.999)))}
    return {}


# A backend that cannot answer is stopping, restarting or not back yet: another replica, or the
# same one a moment later, can. Clients are told when to try again, in every such 503.
BACKEND_RETRY_SECONDS = 1


def _retry_in(seconds: int) -> list[any_pb2.Any]:
    return pack_details(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds)))


def unavailable_body(message: str, retry_seconds: int) -> dict:
    """503 UNAVAILABLE said by the gateway itself, with a RetryInfo: also its Retry-After
    (retry_after)."""
    return error_body(503, "UNAVAILABLE", message, _retry_in(retry_seconds))


def backend_unavailable(backend: str) -> JSONResponse:
    """503 UNAVAILABLE for a backend the gateway could not reach (refused, reset, its channel
    closed), with its Retry-After."""
    body = unavailable_body(f"the {backend} service is unavailable; try again later", BACKEND_RETRY_SECONDS)
    return JSONResponse(body, status_code=503, headers=retry_after(body))


def error_response(http_status: int, message: str, *, status: str | None = None,
                   details: Iterable[any_pb2.Any] = (), headers: dict[str, str] | None = None) -> JSONResponse:
    body = error_body(http_status, status or status_name_for_http(http_status), message, details)
    return JSONResponse(body, status_code=http_status, headers=headers)


def bad_request(message: str, violations: Iterable[tuple[str, str]] = (), headers: dict[str, str] | None = None,
                reason: str = "") -> JSONResponse:
    """400 INVALID_ARGUMENT from the gateway itself, with a BadRequest naming the fields when
    known."""
    violations = [error_details_pb2.BadRequest.FieldViolation(field=f, description=d, reason=reason)
                  for f, d in violations]
    details = pack_details(error_details_pb2.BadRequest(field_violations=violations)) if violations else []
    return error_response(400, message, status="INVALID_ARGUMENT", details=details, headers=headers)


def rpc_status_of(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The google.rpc.Status a failed call carried (its details), or one made of its code and
    message."""
    code = error.code()
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                status = status_pb2.Status.FromString(value)
            except Exception:
                log.warning("unreadable grpc-status-details-bin", extra={"grpc_code": code.name})
                break
            if status.code == code.value[0]:
                return status
            log.warning("grpc-status-details-bin disagrees with the call's status",
                        extra={"grpc_code": code.name, "details_code": status.code})
            break
    return status_pb2.Status(code=code.value[0], message=error.details() or "")


def grpc_error_body(error: grpc.aio.AioRpcError) -> tuple[int, dict]:
    code = error.code()
    status = rpc_status_of(error)
    if code == grpc.StatusCode.CANCELLED:
        # Never the gateway's own cancellation (its awaiting task gets CancelledError instead):
        # the backend cancelled the call, as its graceful stop does with the calls it still
        # serves. No fault of the client's, and retryable: UNAVAILABLE.
        code = grpc.StatusCode.UNAVAILABLE
    http_status = HTTP_STATUS.get(code, 500)
    details = list(status.details)
    if code == grpc.StatusCode.UNAVAILABLE and not any(d.type_url == RETRY_INFO for d in details):
        details += _retry_in(BACKEND_RETRY_SECONDS)  # UNAVAILABLE is retryable: say when
    return http_status, error_body(http_status, code.name, status.message, details)
