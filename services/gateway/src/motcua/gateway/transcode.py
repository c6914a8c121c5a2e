"""REST/JSON -> gRPC transcoding, one Starlette route per HttpRule binding of every RPC.

A request message is built from, in this order:
  1. the JSON body: the whole message for `body: "*"`, the named field for `body: "<field>"`,
     nothing for a rule without a body (a body sent anyway is refused);
  2. the path variables (`{field}`, `{field.sub}`, `{field=pattern}`); with `body: "*"` a body
     that sets a path-bound field to another value is refused rather than silently overridden;
  3. the query parameters, for the remaining fields: scalars, enums, repeated ones (the key
     repeated), nested fields by dotted name (`filter.state=X`) and the well-known types written
     as JSON strings (Timestamp, Duration, FieldMask, wrappers). With `body: "*"` every field is
     in the body, so no query parameter is accepted.
Field names are accepted as written in the protos and in lowerCamelCase (proto3 JSON). A field
that does not exist, a malformed value or malformed JSON is a 400 INVALID_ARGUMENT with a
google.rpc.BadRequest naming the field: the gateway never answers 500 for what a client sent.

The message goes to the backend serving the proto package (motcua.<svc>.v1 -> MOTCUA_BACKENDS
name <svc>) over its long-lived traced channel, as a generic call (no stub per service), with
the incoming W3C `traceparent`/`tracestate` as the parent of the gateway's span.

Responses are proto3 JSON, UTF-8 without escaping (Vietnamese stays readable), with
  - preserving_proto_field_name=True: fields are named as in the protos (`procedure_id`), the
    same spelling as the path templates (`{procedure_id}`), the query parameters, the
    `field` of the backends' field violations (protovalidate reports proto names) and the
    audit tool's JSON, so a client meets one name per field everywhere;
  - always_print_fields_with_no_presence=True: every field is present, also at its default
    (`""`, `0`, `[]`, the `_UNSPECIFIED` enum value), so the shape is the one in /openapi.json;
  - the canonical mapping otherwise: enums by name, 64-bit integers as strings (`"version": "3"`,
    JSON numbers lose precision past 2^53; numbers are accepted on input), bytes as base64,
    Timestamps as RFC 3339.

Before any of that, the request passes the guard (guard.py): a body over
MOTCUA_MAX_MESSAGE_BYTES is refused with 413 (from its Content-Length, without reading it, or
as soon as the streamed bytes pass the limit), and a call to an RPC that is not public is
refused with 401 without a bearer token, before its body is read. A body of more than
MAX_JSON_VALUES values (objects, arrays, elements: what memory grows with) is refused with 413
before it is parsed. A large body is parsed, and a
large response rendered, in a worker thread, so the event loop keeps serving other requests.
A request message over the limit (query and path values count too) is 413 as well; one the
backend refuses as too large (a smaller limit there) also becomes 413, naming its limit.

Server-streaming RPCs are answered as Server-Sent Events when the client accepts
`text/event-stream` (EventSource), else as NDJSON (`application/x-ndjson`): one JSON message per
event / line. An error before the first message is an ordinary JSON error with its HTTP status;
an error after it is a last event `error` (SSE) or a line `{"error": {...}}` (NDJSON).

Files travel as files where a message carries one (a request or response with a single `bytes`
field, e.g. AddAttachmentRequest.content, RenderDossierFormResponse.pdf,
GetSignedDocumentResponse.content):
  - upload: the body of a `body: "*"` route may be the file itself (any non-JSON Content-Type,
    e.g. `application/pdf`: the other fields from the query string) or `multipart/form-data`
    (one file part named as the bytes field, the other fields as form fields). The file's
    Content-Type fills a `content_type` field and a part's file name a `name` field when the
    client does not set them. The size limit is the gateway's one (MOTCUA_MAX_MESSAGE_BYTES),
    and the service's own rules (e.g. 10 MiB for an attachment) answer 400 naming the field;
  - download: with `Accept: application/pdf` (or `application/octet-stream`) the answer is the
    bytes themselves, typed by the message's `media_type` or, failing that, by their content,
    with a Content-Disposition naming the message's `file_name` (or the RPC).

A browser's EventSource cannot send an Authorization header, so a server-streaming route (and
only those) also takes the access token as the `access_token` query parameter (RFC 6750 2.3),
passed on to the service as the bearer token. Not a ticket exchanged beforehand: that would be
state of the gateway's own, shared between its replicas, for what a short-lived access token
already does; the risks of a token in a URL are kept small instead: the gateway logs paths
without the query string, the stream's answer carries `Referrer-Policy: no-referrer`, and the
parameter is refused on every other route (an unknown query parameter).

A versioned resource (a response carrying a `version`, itself or in its one message field) is
answered with an `ETag` (its version, quoted); a GET with a matching `If-None-Match` gets 304.
An `If-Match` on an edit becomes its request's `expected_version`, and the service's version
conflict then becomes 412 FAILED_PRECONDITION.

A stream can resume where it broke when its messages carry a `position` and its request an
`after_position` (StreamInbox): each SSE event's `id:` is the message's position, and the
position to resume after comes from the `Last-Event-ID` header an EventSource sends when it
reconnects, or, for a first connection (a page reloaded), from `?last_event_id=`; the service
then replays what came after it, none twice. A quiet SSE stream gets a comment every
SSE_KEEPALIVE seconds, so that proxies keep it open.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import grpc
from google.protobuf import descriptor, json_format, message_factory
from opentelemetry import propagate, trace
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from motcua.common.v1 import access_pb2
from motcua.kernel.client_address import CLIENT_ADDRESS_METADATA, current_client_address
from motcua.kernel.localized import ACCEPT_LANGUAGE

from .backends import Backends
from .descriptors import SCALAR_WKT, Api, Binding, DescriptorError, Method, backend_of, message_of
from .errors import (
    backend_unavailable,
    bad_request,
    error_body,
    error_response,
    grpc_error_body,
    retry_after,
    rpc_status_of,
)
from .guard import (
    MAX_JSON_VALUES,
    Refused,
    TokenGate,
    check_length,
    count_json_values,
    off_loop,
    read_limited,
    too_large,
    too_many_values,
)
from .pathtemplate import decode_path

log = logging.getLogger(__name__)
tracer = trace.get_tracer("motcua.gateway")

FieldDescriptor = descriptor.FieldDescriptor

_JSON_MEDIA = re.compile(r"application/(?:[\w.+-]+\+)?json", re.IGNORECASE)
_NDJSON = "application/x-ndjson"
_SSE = "text/event-stream"


class ClientError(Refused):
    """What the client sent cannot make a request message: answered 4xx, never 500."""


def _bad(message: str, field: str | None = None, description: str | None = None) -> ClientError:
    return ClientError(bad_request(message, [(field, description or message)] if field else []))


def _to_dict(message: Any) -> dict[str, Any]:
    """A message as JSON: proto field names, fields without presence printed when unset."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def is_query_settable(fd: FieldDescriptor) -> bool:
    """A field whose JSON value is a scalar: settable from one path segment or query value."""
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return message_of(fd).full_name in SCALAR_WKT
    return True


def query_fields(message: descriptor.Descriptor, excluded: Iterable[str] = (),
                 prefix: str = "", seen: tuple[str, ...] = ()) -> Iterable[tuple[str, FieldDescriptor]]:
    """(dotted proto name, field) of every field a query parameter may set, nested ones included.

    excluded: field paths bound elsewhere (path variables, the body field); they and everything
    under or above them are left out. Recursive message types are followed once.
    """
    excluded = tuple(excluded)
    for fd in message.fields:
        path = prefix + fd.name
        if any(path == e or path.startswith(e + ".") for e in excluded):
            continue
        if is_query_settable(fd):
            yield path, fd
        elif not fd.is_repeated and message_of(fd).full_name not in seen:
            yield from query_fields(message_of(fd), excluded, path + ".", (*seen, message.full_name))


def _resolve(message: descriptor.Descriptor | None, dotted: str) -> list[FieldDescriptor] | None:
    """The fields along a dotted name, each segment by its proto name or its JSON name."""
    fields = []
    for part in dotted.split("."):
        if message is None:
            return None
        fd = message.fields_by_name.get(part) or next((f for f in message.fields if f.json_name == part), None)
        if fd is None:
            return None
        fields.append(fd)
        message = fd.message_type if fd.type == FieldDescriptor.TYPE_MESSAGE else None
    return fields


def _json_scalar(fd: FieldDescriptor, text: str, where: str) -> Any:
    """A path segment or query value as the JSON value json_format expects for the field."""
    is_bool = fd.type == FieldDescriptor.TYPE_BOOL or (
        fd.type == FieldDescriptor.TYPE_MESSAGE and message_of(fd).full_name == "google.protobuf.BoolValue")
    if is_bool:
        if text in ("true", "false"):
            return text == "true"
        raise _bad(f"{where}: expected true or false, got {text!r}", where, "expected true or false")
    return text  # json_format reads numbers, enums (name or number), bytes and the WKTs from strings


def _set_from_text(request: Any, fields: Sequence[FieldDescriptor], values: list[str], where: str,
                   conflict_check: bool) -> None:
    container = request
    for fd in fields[:-1]:
        container = getattr(container, fd.name)
    leaf = fields[-1]
    repeated = leaf.is_repeated
    if not repeated and len(values) > 1:
        raise _bad(f"{where} is given {len(values)} times but is not repeated", where, "given more than once")
    converted = [_json_scalar(leaf, v, where) for v in values]
    parsed = type(container)()
    try:
        json_format.ParseDict({leaf.name: converted if repeated else converted[0]}, parsed)
    except (json_format.ParseError, ValueError, TypeError) as e:
        raise _bad(f"{where}: {_first_line(e)}", where, _first_line(e)) from None
    if conflict_check and _is_set(container, leaf) and getattr(container, leaf.name) != getattr(parsed, leaf.name):
        raise _bad(f"the body sets {where} to another value than the path", where,
                   "the body and the path disagree")
    if repeated or leaf.type == FieldDescriptor.TYPE_MESSAGE:
        container.ClearField(leaf.name)
        container.MergeFrom(parsed)
    else:
        setattr(container, leaf.name, getattr(parsed, leaf.name))


def _is_set(container: Any, fd: FieldDescriptor) -> bool:
    return any(f.name == fd.name for f, _ in container.ListFields())


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0].strip() if str(e).strip() else type(e).__name__


_NO_FIELD = re.compile(r'has no field named "([^"]+)" at "([^"]+)"')
_FAILED_FIELD = re.compile(r"Failed to parse (\S+) field")


def _parse_error_field(e: json_format.ParseError) -> str | None:
    """The field a json_format.ParseError is about, as a dotted proto path, when it says."""
    text = str(e)
    m = _NO_FIELD.search(text)
    if m:
        return ".".join([*m.group(2).split(".")[1:], m.group(1)])
    names = _FAILED_FIELD.findall(text)
    return ".".join(names) or None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass
class Transcoder:
    """One binding of one RPC: builds its request message from an HTTP request, calls, renders."""

    method: Method
    binding: Binding
    rpc_timeout: float
    max_message_bytes: int
    token_gate: TokenGate

    def __post_init__(self) -> None:
        options = self.method.method.GetOptions()
        # As the services read it (kernel grpc_server.access_policies): only `public` goes without a
        # token.
        self.public = options.HasExtension(access_pb2.access) and options.Extensions[access_pb2.access].public
        self.request_class = message_factory.GetMessageClass(self.method.input)
        self.response_class = message_factory.GetMessageClass(self.method.output)
        self.path_fields = {v.name: _resolve(self.method.input, v.name) for v in self.binding.template.variables}
        self.span_name = f"{self.binding.http_method} {self.binding.template.template}"
        self.upload_field = single_bytes_field(self.method.input) if self.binding.body == "*" else None
        self.download_field = single_bytes_field(self.method.output) if not self.method.server_streaming else None
        # Versioned resources (see the module's docstring): where the answer says its version, and
        # the request field If-Match fills.
        self.version_path = version_path(self.method.output) \
            if not self.method.server_streaming and not self.binding.response_body else None
        self.expected_version = self.method.input.fields_by_name.get(EXPECTED_VERSION_FIELD)
        # A stream that can resume (see the module's docstring): its messages say their position,
        # its request takes the one to resume after.
        self.resumable = (self.method.server_streaming
                          and RESUME_POSITION_FIELD in self.method.output.fields_by_name
                          and RESUME_AFTER_FIELD in self.method.input.fields_by_name)

    # ------------------------------------------------------------------ request

    async def guard(self, request: Request) -> bytes:
        """The body, once the request has passed the checks that cost nothing to make: its size
        as declared, then the token (unless the RPC is public), then its size as read."""
        check_length(request, self.max_message_bytes)
        if not self.public:
            await self.token_gate.check(self.authorization(request))
        return await read_limited(request, self.max_message_bytes)

    def authorization(self, request: Request) -> str | None:
        """The caller's Authorization: the header, or on a stream the access_token parameter
        (see the module's docstring)."""
        header = request.headers.get("authorization")
        if header or not self.method.server_streaming:
            return header
        token = request.query_params.get(STREAM_TOKEN_PARAMETER)
        return f"Bearer {token}" if token else None

    def query(self, request: Request) -> list[tuple[str, str]]:
        """The query parameters that fill the request message (a stream's token is not one)."""
        pairs = request.query_params.multi_items()
        if not self.method.server_streaming:
            return pairs
        pairs = [(k, v) for k, v in pairs if k != STREAM_TOKEN_PARAMETER]
        if not self.resumable:
            return pairs
        # An EventSource reconnects to the same URL with the id it saw last in Last-Event-ID: the
        # header is newer than a ?last_event_id= (or after_position) of the URL, and wins.
        resume = request.headers.get("last-event-id")
        if resume is None:
            given = [v for k, v in pairs if k == LAST_EVENT_ID_PARAMETER]
            if not given:
                return pairs
            resume = given[-1]
        elif not resume.strip():  # an EventSource that saw no id yet sends it empty
            return [(k, v) for k, v in pairs if k != LAST_EVENT_ID_PARAMETER]
        if not resume.strip().isdigit():
            raise _bad(f"Last-Event-ID must be an id this stream sent (a position), not {resume!r}",
                       LAST_EVENT_ID_PARAMETER, "not a position of this stream")
        kept = [(k, v) for k, v in pairs if k not in (LAST_EVENT_ID_PARAMETER, RESUME_AFTER_FIELD)]
        return [*kept, (RESUME_AFTER_FIELD, resume.strip())]

    def decode(self, raw: bytes, content_type: str | None, path_values: dict[str, str],
               query: list[tuple[str, str]]) -> Any:
        """The request message of the body, path and query (see the module's docstring)."""
        message = self.build(path_values, query, self.parse_body(raw, content_type))
        if message.ByteSize() > self.max_message_bytes:  # e.g. a body just under the limit plus a long query
            raise ClientError(too_large(self.max_message_bytes, f"the {self.method.input.name} message"))
        return message

    def parse_body(self, raw: bytes, content_type: str | None) -> Any:
        """The JSON value of the body; None when there is none."""
        if not raw.strip():
            return None
        if self.binding.body == "":
            raise ClientError(bad_request(f"{self.binding.http_method} {self.binding.template.template} takes no body"))
        media = (content_type or "").split(";")[0].strip()
        if not _JSON_MEDIA.fullmatch(media):
            raise ClientError(error_response(415, f"the body must be JSON (Content-Type: application/json), "
                                                  f"not {media or 'without a Content-Type'}"))
        if count_json_values(raw) > MAX_JSON_VALUES:  # before json.loads makes them all
            raise ClientError(too_many_values(MAX_JSON_VALUES))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _bad(f"the body is not UTF-8: {e}") from None
        try:
            return json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as e:
            raise _bad(f"malformed JSON: {e}") from None

    def build(self, path_values: dict[str, str], query: list[tuple[str, str]], body: Any) -> Any:
        request = self.request_class()
        body_field = self.binding.body
        if body is not None:
            if body_field == "*" and not isinstance(body, dict):
                raise _bad(f"the body must be a JSON object ({self.method.input.name}), "
                           f"not {type(body).__name__}")
            try:
                json_format.ParseDict(body if body_field == "*" else {body_field: body}, request)
            except json_format.ParseError as e:
                field = _parse_error_field(e)
                raise ClientError(bad_request(_first_line(e), [(field, _first_line(e))] if field else [])) from None
            except Exception as e:  # json_format raises a few others on odd input (e.g. deep nesting)
                raise _bad(f"the body does not fit {self.method.input.name}: {_first_line(e)}") from None
        for name, value in path_values.items():
            fields = self.path_fields[name]
            assert fields is not None  # checked when the API was loaded
            _set_from_text(request, fields, [value], name, conflict_check=body_field == "*")
        if query:
            self._apply_query(request, query)
        return request

    def _apply_query(self, request: Any, query: list[tuple[str, str]]) -> None:
        if self.binding.body == "*":
            names = sorted({k for k, _ in query})
            raise ClientError(bad_request(
                f"{self.binding.http_method} {self.binding.template.template} takes every field in the body, "
                f"not in the query string", [(n, "not a query parameter of this operation") for n in names]))
        grouped: dict[str, list[str]] = {}
        for key, value in query:
            grouped.setdefault(key, []).append(value)
        bound = [*self.path_fields, *([self.binding.body] if self.binding.body else [])]
        for key, values in grouped.items():
            fields = _resolve(self.method.input, key)
            if fields is None:
                raise _bad(f"unknown query parameter {key!r}: {self.method.input.full_name} has no such field",
                           key, "no such field")
            proto_path = ".".join(f.name for f in fields)
            if any(proto_path == b or proto_path.startswith(b + ".") or b.startswith(proto_path + ".") for b in bound):
                raise _bad(f"{key} is bound by the path or the body, not the query string", key,
                           "bound by the path or the body")
            if any(f.is_repeated for f in fields[:-1]) or not is_query_settable(fields[-1]):
                raise _bad(f"{key} cannot be set from the query string", key, "not a scalar field")
            _set_from_text(request, fields, values, key, conflict_check=False)

    # ------------------------------------------------------------------ call

    def trace_context(self, request: Request) -> Any:
        carrier = {k: v for k, v in request.headers.items() if k in ("traceparent", "tracestate")}
        return propagate.extract(carrier)

    async def __call__(self, request: Request, path_values: dict[str, str]) -> Response:
        try:
            raw = await self.guard(request)
            content_type = request.headers.get("content-type")
            query = self.query(request)
            media = (content_type or "").split(";")[0].strip().lower()
            if self.upload_field is not None and raw and media and not _JSON_MEDIA.fullmatch(media):
                message = await self.decode_upload(request, raw, media, path_values, query)
            else:
                message = await off_loop(lambda: self.decode(raw, content_type, path_values, query), len(raw))
            if_match = self.apply_if_match(request, message)
        except Refused as e:
            return e.response
        backends: Backends = request.app.state.backends
        backend = backend_of(self.method, message)
        if backend not in backends.channels:
            log.warning("no backend for the service", extra={"rpc": self.method.full_path, "backend": backend})
            return error_response(501, f"{self.method.service.full_name} is not served here "
                                       f"(no backend named {backend!r})", status="UNIMPLEMENTED")
        attributes = {"http.request.method": self.binding.http_method, "http.route": self.binding.template.template,
                      "rpc.system": "grpc", "rpc.service": self.method.service.full_name,
                      "rpc.method": self.method.name}
        with tracer.start_as_current_span(self.span_name, context=self.trace_context(request),
                                          kind=trace.SpanKind.SERVER, attributes=attributes) as span:
            metadata = forwarded_metadata(request, self.authorization(request))
            if self.method.server_streaming:
                response = await self._stream(request, backends, message, metadata, backend)
            else:
                as_file = self.download_field is not None and wants_file(request.headers.get("accept", ""))
                response = await self._unary(backends, message, metadata, backend, as_file, if_match,
                                             request.headers.get("if-none-match"))
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    def render(self, message: Any) -> Any:
        rendered: Any = _to_dict(message)
        if self.binding.response_body:
            field = self.method.output.fields_by_name[self.binding.response_body]
            rendered = rendered.get(field.name, _to_dict(self.response_class()).get(field.name))
        return rendered

    def _grpc_error(self, error: grpc.aio.AioRpcError, request_size: int | None = None) -> tuple[int, dict]:
        code = error.code()
        oversized = _TOO_LARGE.search(error.details() or "") if code == grpc.StatusCode.RESOURCE_EXHAUSTED else None
        if oversized:
            return self._too_large(oversized, request_size)
        http_status, body = grpc_error_body(error)
        # Said by the gateway's own gRPC stack, not by the service: keep addresses and stack
        # traces out of what clients see, and in the log. Told apart by the call carrying no
        # google.rpc details (the kernel's statuses always carry some), not by the body's
        # details, which always hold the LocalizedMessage the gateway adds.
        generic = {
            grpc.StatusCode.UNAVAILABLE: f"the {self.method.backend} service is unavailable; try again later",
            grpc.StatusCode.CANCELLED: f"the {self.method.backend} service is unavailable; try again later",
            grpc.StatusCode.DEADLINE_EXCEEDED: f"the {self.method.backend} service did not answer in time",
            grpc.StatusCode.UNKNOWN: f"the {self.method.backend} service failed",
        }
        if code in generic and not rpc_status_of(error).details:
            log.warning("backend call failed", extra={"rpc": self.method.full_path, "grpc_code": code.name,
                                                      "error": error.details()})
            body["error"]["message"] = generic[code]
        return http_status, body

    def _channel_failure(self) -> Response:
        """A failure of the gateway's own channel that is no call status (grpc.aio's UsageError
        of a channel closed as the gateway stops, its InternalError): the backend could not be
        reached, which a retry (on another replica) may fix. Logged with its trace: not expected."""
        log.exception("backend call failed in the channel", extra={"rpc": self.method.full_path})
        return backend_unavailable(self.method.backend)

    def _too_large(self, match: re.Match, request_size: int | None) -> tuple[int, dict]:
        """gRPC's own refusal of a message over a limit (the gateway's channel or the backend's
        server): 413 when it was the request, naming the limit; the response's is no fault of
        the client's."""
        size, limit = int(match.group(1)), int(match.group(2))
        log.warning("message over the limit", extra={"rpc": self.method.full_path, "size": size, "limit": limit,
                                                     "request_size": request_size})
        if size == request_size:
            response = too_large(limit, f"the {self.method.input.name} message ({size} bytes) "
                                        f"for the {self.method.backend} service")
            return response.status_code, json.loads(bytes(response.body))
        message = f"the {self.method.backend} service's answer exceeds the limit of {limit} bytes"
        return 500, error_body(500, "RESOURCE_EXHAUSTED", message)

    def apply_if_match(self, request: Request, message: Any) -> bool:
        """An If-Match header as the request's expected_version (RFC 9110 13.1.1 over optimistic
        concurrency); whether there was one. `*` asks for nothing (the resource exists or the
        call fails anyway). On an operation without an expected_version it is refused rather
        than ignored: the client counts on a check that would not be made."""
        header = request.headers.get("if-match")
        if header is None or header.strip() == "*":
            return False
        if self.expected_version is None:
            if self.binding.http_method == "GET":
                return False
            raise _bad(f"{self.binding.http_method} {self.binding.template.template} takes no If-Match: it is not "
                       "an edit of a versioned resource", IF_MATCH, "not a versioned edit")
        version = parse_etag(header)
        if version is None:
            raise _bad(f"If-Match must be an ETag this API sent (a quoted version, e.g. \"3\"), not {header!r}",
                       IF_MATCH, "not an ETag of this API")
        given = getattr(message, EXPECTED_VERSION_FIELD)
        if given and given != version:
            raise _bad(f"If-Match ({version}) and expected_version ({given}) disagree", IF_MATCH,
                       "disagrees with expected_version")
        setattr(message, EXPECTED_VERSION_FIELD, version)
        return True

    def etag(self, response: Any) -> str | None:
        if self.version_path is None:
            return None
        value = response
        for name in self.version_path:
            value = getattr(value, name)
        return f'"{value}"' if value else None

    async def _unary(self, backends: Backends, message: Any, metadata: tuple, backend: str,
                     as_file: bool = False, if_match: bool = False, if_none_match: str | None = None) -> Response:
        call = backends.unary(backend, self.method.full_path, self.request_class, self.response_class)
        try:
            response = await call(message, timeout=self.rpc_timeout, metadata=metadata)
        except grpc.aio.AioRpcError as e:
            http_status, body = self._grpc_error(e, message.ByteSize())
            if if_match and e.code() == grpc.StatusCode.ABORTED:
                # The version the client's ETag named is not the resource's any more: HTTP's
                # precondition failure, not a conflict to retry as is.
                http_status = 412
                body["error"].update(code=412, status="FAILED_PRECONDITION")
            return JSONResponse(body, status_code=http_status, headers=retry_after(body))
        except grpc.aio.BaseError:
            return self._channel_failure()
        if as_file:
            return self.file_response(response)
        etag = self.etag(response)
        headers = {"ETag": etag} if etag else None
        if etag and if_none_match and self.binding.http_method == "GET" and \
                etag in (t.strip().removeprefix("W/") for t in if_none_match.split(",")):
            return Response(status_code=304, headers={"ETag": etag})
        return await off_loop(lambda: JSONResponse(self.render(response), headers=headers), response.ByteSize())

    # ------------------------------------------------------------------ files

    async def decode_upload(self, request: Request, raw: bytes, media: str, path_values: dict[str, str],
                            query: list[tuple[str, str]]) -> Any:
        """The request message of a file upload (see the module's docstring)."""
        filename: str | None = None
        if media == "multipart/form-data":
            if query:
                raise _bad("a multipart upload takes its fields in the form, not in the query string",
                           query[0][0], "not a query parameter of this operation")
            pairs, content, file_media, filename = await self._read_form(request, raw)
            media = file_media or ""
        else:
            pairs, content = query, raw
        return await off_loop(lambda: self.build_upload(path_values, pairs, content, media, filename), len(raw))

    async def _read_form(self, request: Request, raw: bytes) -> tuple[list[tuple[str, str]], bytes, str | None,
                                                                      str | None]:
        assert self.upload_field is not None

        async def replay() -> dict[str, Any]:  # the body, already read (and counted) by the guard
            return {"type": "http.request", "body": raw, "more_body": False}

        try:
            form = await Request(request.scope, replay).form(max_files=1, max_fields=MAX_FORM_FIELDS,
                                                             max_part_size=self.max_message_bytes)
        except HTTPException as e:  # python-multipart's refusals: malformed, too many parts
            raise _bad(f"malformed multipart body: {e.detail}") from None
        pairs: list[tuple[str, str]] = []
        file: Any = None
        for key, value in form.multi_items():
            if isinstance(value, str):
                pairs.append((key, value))
            elif key in (self.upload_field.name, self.upload_field.json_name):
                file = value
            else:
                raise _bad(f"the file part must be named {self.upload_field.name!r}, not {key!r}", key,
                           f"the file goes in {self.upload_field.name}")
        try:
            if file is None:
                raise _bad(f"the form has no file part named {self.upload_field.name!r}", self.upload_field.name,
                           "a file is required")
            content = await file.read()
            return pairs, content, file.content_type, file.filename
        finally:
            await form.close()

    def build_upload(self, path_values: dict[str, str], pairs: list[tuple[str, str]], content: bytes,
                     media: str, filename: str | None) -> Any:
        assert self.upload_field is not None
        request = self.request_class()
        for name, value in path_values.items():
            fields = self.path_fields[name]
            assert fields is not None  # checked when the API was loaded
            _set_from_text(request, fields, [value], name, conflict_check=False)
        grouped: dict[str, list[str]] = {}
        for key, value in pairs:
            grouped.setdefault(key, []).append(value)
        for key, values in grouped.items():
            fields = _resolve(self.method.input, key)
            if fields is None:
                raise _bad(f"unknown field {key!r}: {self.method.input.full_name} has no such field", key,
                           "no such field")
            proto_path = ".".join(f.name for f in fields)
            if proto_path == self.upload_field.name or proto_path in self.path_fields:
                raise _bad(f"{key} is bound by the path or the file", key, "bound by the path or the file")
            if any(f.is_repeated for f in fields[:-1]) or not is_query_settable(fields[-1]):
                raise _bad(f"{key} cannot be set from a text value", key, "not a scalar field")
            _set_from_text(request, fields, values, key, conflict_check=False)
        setattr(request, self.upload_field.name, content)
        for field_name, default in (("content_type", media), ("name", filename)):
            fd = self.method.input.fields_by_name.get(field_name)
            if default and fd is not None and fd.type == FieldDescriptor.TYPE_STRING and not getattr(request,
                                                                                                    field_name):
                setattr(request, field_name, default)
        if request.ByteSize() > self.max_message_bytes:
            raise ClientError(too_large(self.max_message_bytes, f"the {self.method.input.name} message"))
        return request

    def file_response(self, response: Any) -> Response:
        assert self.download_field is not None
        content = bytes(getattr(response, self.download_field.name))
        declared = _string_field(response, "media_type") or _string_field(response, "content_type")
        media = declared or ("application/pdf" if content.startswith(b"%PDF-") else "application/octet-stream")
        extension = ".pdf" if media == "application/pdf" else ""
        filename = _string_field(response, "file_name") or f"{_snake(self.method.name)}{extension}"
        return Response(content, media_type=media, headers={
            "Content-Disposition": content_disposition(filename), "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff"})

    # ------------------------------------------------------------------ server streaming

    async def _stream(self, request: Request, backends: Backends, message: Any, metadata: tuple,
                      backend: str) -> Response:
        sse = _SSE in request.headers.get("accept", "")
        call = backends.server_stream(backend, self.method.full_path, self.request_class,
                                      self.response_class)(message, metadata=metadata)  # no deadline: streams stay open
        # Wait for the first message or an early failure (e.g. validation), so that it gets its
        # HTTP status; a stream that is merely quiet starts after a short while.
        first = asyncio.ensure_future(call.read())
        await asyncio.wait({first}, timeout=STREAM_START_WAIT)
        if first.done():
            try:
                first.result()  # a message or EOF: _events takes it from there
            except grpc.aio.AioRpcError as e:
                http_status, body = self._grpc_error(e, message.ByteSize())
                return JSONResponse(body, status_code=http_status, headers=retry_after(body))
            except grpc.aio.BaseError:
                return self._channel_failure()
        # no-referrer: a page the stream's client links to never learns the URL (its token).
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no", "Referrer-Policy": "no-referrer"}
        media = _SSE if sse else _NDJSON
        draining: asyncio.Event = getattr(request.app.state, "draining", None) or asyncio.Event()
        return StreamingResponse(self._events(call, first, sse, draining), media_type=media, headers=headers)

    async def _events(self, call: Any, first: asyncio.Future, sse: bool,
                      draining: asyncio.Event) -> AsyncIterator[bytes]:
        def frame(kind: str, payload: dict, event_id: str = "") -> bytes:
            data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
            if sse:
                # id: what the browser sends back as Last-Event-ID when it reconnects.
                id_line = f"id: {event_id}\n" if event_id else ""
                return f"{id_line}event: {kind}\ndata: {data}\n\n".encode()
            return (json.dumps({"result" if kind == "message" else "error": payload},
                               ensure_ascii=False, separators=(",", ":")) + "\n").encode()

        drained = asyncio.ensure_future(draining.wait())
        pending: asyncio.Future | None = first
        try:
            if sse:
                yield b": stream open\n\n"  # flushes the headers through proxies at once
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(call.read())
                done, _ = await asyncio.wait({pending, drained}, timeout=SSE_KEEPALIVE if sse else None,
                                             return_when=asyncio.FIRST_COMPLETED)
                if pending not in done:
                    if drained in done:  # the gateway is stopping: tell the client to come back
                        message = "the gateway is shutting down; reconnect"
                        body = error_body(503, "UNAVAILABLE", message)
                        yield frame("error", body if sse else body["error"])
                        return
                    yield b": keep-alive\n\n"
                    continue
                item, pending = pending.result(), None
                if item is grpc.aio.EOF:
                    return
                position = getattr(item, RESUME_POSITION_FIELD) if self.resumable else 0
                yield frame("message", self.render(item), str(position) if position else "")
        except grpc.aio.AioRpcError as e:
            _, body = self._grpc_error(e)
            yield frame("error", body["error"] if not sse else body)
        except grpc.aio.BaseError:
            body = json.loads(bytes(self._channel_failure().body))
            yield frame("error", body["error"] if not sse else body)
        finally:
            drained.cancel()
            if pending is not None:
                pending.cancel()
            call.cancel()  # the client went away (or the stream ended): end the backend's stream too


def forwarded_metadata(request: Request, authorization: str | None) -> tuple[tuple[str, str], ...]:
    """What the services need from the HTTP request: the caller's bearer token, as is (each
    service verifies it and decides who may call what; the gateway's own check, guard.TokenGate,
    only keeps callers without a valid token from costing it a body), and the caller's address
    (kernel client_address), which the services' throttles count by."""
    address = current_client_address()
    # The services word their errors' LocalizedMessage in the language asked for (kernel localized).
    language = request.headers.get(ACCEPT_LANGUAGE)
    return ((("authorization", authorization),) if authorization else ()) + \
        (((CLIENT_ADDRESS_METADATA, address),) if address else ()) + \
        (((ACCEPT_LANGUAGE, language),) if language else ())


# gRPC's words for a message over a limit, on either side: "Received message larger than max
# (20971520 vs. 16777216)", "Sent message larger than max (...)".
_TOO_LARGE = re.compile(r"message larger than max \((\d+) vs\. (\d+)\)", re.IGNORECASE)

MAX_FORM_FIELDS = 50  # form fields of a multipart upload: a request message's scalar fields, a few
FILE_MEDIA = ("application/pdf", "application/octet-stream")


def single_bytes_field(message: descriptor.Descriptor) -> FieldDescriptor | None:
    """The message's one singular `bytes` field, when it has exactly one: the file it carries."""
    found = [fd for fd in message.fields if fd.type == FieldDescriptor.TYPE_BYTES and not fd.is_repeated]
    return found[0] if len(found) == 1 else None


def wants_file(accept: str) -> bool:
    """Whether the client asks for the file itself rather than JSON."""
    media = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(media & set(FILE_MEDIA)) and "application/json" not in media


def content_disposition(filename: str) -> str:
    """attachment, with the name in ASCII for old clients and in UTF-8 (RFC 6266, 5987) for the
    rest: Vietnamese file names keep their diacritics."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in
                         unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode() or "file")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _string_field(message: Any, name: str) -> str:
    fd = message.DESCRIPTOR.fields_by_name.get(name)
    return getattr(message, name) if fd is not None and fd.type == FieldDescriptor.TYPE_STRING else ""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


# Versioned resources: the field an edit's request takes the version it expects in, and the header
# naming it over HTTP.
EXPECTED_VERSION_FIELD = "expected_version"
VERSION_FIELD = "version"
IF_MATCH = "If-Match"
_ETAG = re.compile(r'\s*(?:W/)?"(\d+)"\s*')


def version_path(message: descriptor.Descriptor) -> tuple[str, ...] | None:
    """Where a response says the version of the resource it carries: its own int64 `version`, or
    that of its one message field that has one (GetProcedureResponse.procedure.version)."""
    def has_version(m: descriptor.Descriptor) -> bool:
        fd = m.fields_by_name.get(VERSION_FIELD)
        return fd is not None and fd.type == FieldDescriptor.TYPE_INT64 and not fd.is_repeated

    if has_version(message):
        return (VERSION_FIELD,)
    carriers = [fd.name for fd in message.fields if fd.type == FieldDescriptor.TYPE_MESSAGE and not fd.is_repeated
                and has_version(message_of(fd))]
    return (carriers[0], VERSION_FIELD) if len(carriers) == 1 else None


def parse_etag(header: str) -> int | None:
    """The version an If-Match names (one ETag, strong or weak); None when it is no ETag of ours."""
    match = _ETAG.fullmatch(header)
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


# The query parameter a stream's access token may come in (RFC 6750 2.3's name).
STREAM_TOKEN_PARAMETER = "access_token"
# A resumable stream: each message's position (its SSE id), the request field resuming after one,
# and the query parameter a first connection gives it in (EventSource cannot set Last-Event-ID).
RESUME_POSITION_FIELD = "position"
RESUME_AFTER_FIELD = "after_position"
LAST_EVENT_ID_PARAMETER = "last_event_id"

ROUTE_KEY = "motcua.route"  # the scope key naming the matched route's template

STREAM_START_WAIT = 0.5  # seconds a stream may take to say its first word before headers go out
SSE_KEEPALIVE = 15.0  # seconds between SSE comments on a quiet stream (proxies close idle ones)


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if raw is None:  # not every ASGI server gives it
        return quote(scope["path"], safe="/:@!$&'()*+,;=-._~")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")


class RpcRoute(BaseRoute):
    """A Starlette route for one binding: matches the HttpRule's template on the raw path."""

    def __init__(self, transcoder: Transcoder, allowed: Callable[[str], list[str]]) -> None:
        self.transcoder = transcoder
        self.binding = transcoder.binding
        self._allowed = allowed

    def __repr__(self) -> str:
        binding = self.binding
        return f"RpcRoute({binding.http_method} {binding.template.template} -> {self.transcoder.method.full_path})"

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        decoded = scope.get("motcua.decoded_path")
        if decoded is None:
            decoded = decode_path(_raw_path(scope)) or ""
            scope["motcua.decoded_path"] = decoded
        values = self.binding.template.match(decoded) if decoded else None
        if values is None:
            return Match.NONE, {}
        # The template, not the path as sent: the metrics' route label (app.AccessLog) names no id.
        child = {"endpoint": self.transcoder, "path_params": values, ROUTE_KEY: self.binding.template.template}
        return (Match.FULL if scope["method"] == self.binding.http_method else Match.PARTIAL), child

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != self.binding.http_method:
            allowed = self._allowed(scope.get("motcua.decoded_path", ""))
            response: Response = error_response(
                405, f"{scope['method']} is not allowed on {scope['path']}; allowed: {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)})
        else:
            request = Request(scope, receive)
            response = await self.transcoder(request, scope["path_params"])
        await response(scope, receive, send)


def _specificity(binding: Binding) -> tuple[int, int]:
    """Literal-rich templates first, so that /v1/x/special wins over /v1/x/{id} for the same
    verb."""
    template = binding.template
    wildcards = len(template.variables) + template.template.count("*")
    return wildcards, -len(template.template)


def build_routes(api: Api, rpc_timeout: float, max_message_bytes: int,
                 token_gate: TokenGate | None = None) -> list[RpcRoute]:
    gate = token_gate or TokenGate(None)
    transcoders = [Transcoder(m, b, rpc_timeout, max_message_bytes, gate) for m in api.methods for b in m.bindings
                   if not m.client_streaming]  # client streaming has no REST form; left out
    seen: dict[tuple[str, str], str] = {}
    for t in transcoders:
        key = (t.binding.http_method, t.binding.template.regex.pattern)
        if key in seen:
            raise DescriptorError(f"{t.binding.http_method} {t.binding.template.template} is bound by both "
                                  f"{seen[key]} and {t.method.full_path}")
        seen[key] = t.method.full_path
    transcoders.sort(key=lambda t: _specificity(t.binding))

    def allowed(decoded_path: str) -> list[str]:
        return sorted({t.binding.http_method for t in transcoders
                       if t.binding.template.match(decoded_path) is not None})

    return [RpcRoute(t, allowed) for t in transcoders]
