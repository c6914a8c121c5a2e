"""The OpenAPI 3.1 document of the REST API, generated from the same descriptors as the routes.

- paths: one operation per HttpRule binding (operationId `<Service>_<Rpc>`, summary the RPC
  name, description the RPC's comment), with its path parameters, query parameters (the fields
  a query may set, as the transcoder reads them) and request body;
- schemas: one per message and enum, named by its full proto name, fields named as in the
  protos (the gateway's JSON, see transcode.py), comments as descriptions; proto3 JSON types
  (64-bit integers are strings, bytes base64, Timestamp RFC 3339, ...);
- `google.api.field_behavior`: REQUIRED -> `required`, OUTPUT_ONLY -> readOnly,
  INPUT_ONLY -> writeOnly, IMMUTABLE noted;
- protovalidate rules where JSON Schema says the same: string lengths (in characters, as
  protovalidate counts), patterns, const/in/not_in, uuid/email/hostname/ip/uri formats,
  numeric ranges (on JSON numbers; on 64-bit integers, which are strings, in the description),
  repeated and map sizes; CEL rules are quoted in the descriptions;
- every error: the gateway's error body (errors.py) with its google.rpc details;
- who may call each operation, from the RPC's `motcua.common.v1.access` option (the one the
  services enforce): `x-motcua-access` (`public`, `authenticated` or `roles`), `x-motcua-roles`
  and a sentence in the description; public operations have `security: []`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from buf.validate import validate_pb2
from google.api import field_behavior_pb2
from google.protobuf import descriptor, json_format, message_factory
from google.rpc import error_details_pb2

from motcua.common.v1 import access_pb2

from .descriptors import Api, Binding, Method, enum_of, load_api, message_of
from .errors import HTTP_STATUS
from .transcode import (
    EXPECTED_VERSION_FIELD,
    LAST_EVENT_ID_PARAMETER,
    RESUME_AFTER_FIELD,
    RESUME_POSITION_FIELD,
    FieldDescriptor,
    is_query_settable,
    query_fields,
    single_bytes_field,
)

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/"
ERROR_DETAIL_TYPES = (error_details_pb2.BadRequest, error_details_pb2.ResourceInfo,
                      error_details_pb2.PreconditionFailure, error_details_pb2.ErrorInfo)

_INTEGER_32 = {
    FieldDescriptor.TYPE_INT32: ("int32", None), FieldDescriptor.TYPE_SINT32: ("int32", None),
    FieldDescriptor.TYPE_SFIXED32: ("int32", None),
    FieldDescriptor.TYPE_UINT32: ("uint32", (0, 4294967295)), FieldDescriptor.TYPE_FIXED32: ("uint32", (0, 4294967295)),
}
_INTEGER_64 = {
    FieldDescriptor.TYPE_INT64: "int64", FieldDescriptor.TYPE_SINT64: "int64", FieldDescriptor.TYPE_SFIXED64: "int64",
    FieldDescriptor.TYPE_UINT64: "uint64", FieldDescriptor.TYPE_FIXED64: "uint64",
}
_RULES_OF_TYPE = {  # FieldRules oneof case for each scalar type
    FieldDescriptor.TYPE_FLOAT: "float", FieldDescriptor.TYPE_DOUBLE: "double",
    FieldDescriptor.TYPE_INT32: "int32", FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_UINT32: "uint32", FieldDescriptor.TYPE_UINT64: "uint64",
    FieldDescriptor.TYPE_SINT32: "sint32", FieldDescriptor.TYPE_SINT64: "sint64",
    FieldDescriptor.TYPE_FIXED32: "fixed32", FieldDescriptor.TYPE_FIXED64: "fixed64",
    FieldDescriptor.TYPE_SFIXED32: "sfixed32", FieldDescriptor.TYPE_SFIXED64: "sfixed64",
}
# What a string field's rules add to its schema (moved under anyOf when empty is valid too).
_STRING_CONSTRAINTS = ("const", "minLength", "maxLength", "pattern", "enum", "not", "format")
_STRING_FORMATS = {
    "email": "email", "hostname": "hostname", "ipv4": "ipv4", "ipv6": "ipv6", "uri": "uri",
    "uri_ref": "uri-reference", "uuid": "uuid",
}
_STRING_PATTERNS = {
    "tuuid": "^[0-9a-fA-F]{32}$",
    "ulid": "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$",
}
_WKT_SCHEMAS: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time",
                                  "description": "RFC 3339 time, e.g. `2026-11-21T08:49:09Z`."},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$",
                                 "description": "Seconds with up to 9 decimals and the suffix `s`, e.g. `1.5s`."},
    "google.protobuf.FieldMask": {"type": "string", "description": "Comma-separated field paths in lowerCamelCase."},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object", "properties": {}},
    "google.protobuf.Any": {"type": "object", "required": ["@type"], "additionalProperties": True,
                            "properties": {"@type": {"type": "string",
                                                     "description": "type.googleapis.com/<full message name>"}}},
    "google.protobuf.DoubleValue": {"type": ["number", "null"], "format": "double"},
    "google.protobuf.FloatValue": {"type": ["number", "null"], "format": "float"},
    "google.protobuf.Int64Value": {"type": ["string", "null"], "format": "int64"},
    "google.protobuf.UInt64Value": {"type": ["string", "null"], "format": "uint64"},
    "google.protobuf.Int32Value": {"type": ["integer", "null"], "format": "int32"},
    "google.protobuf.UInt32Value": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
    "google.protobuf.BoolValue": {"type": ["boolean", "null"]},
    "google.protobuf.StringValue": {"type": ["string", "null"]},
    "google.protobuf.BytesValue": {"type": ["string", "null"], "contentEncoding": "base64"},
}

API_DESCRIPTION = """\
REST/JSON face of motcua's gRPC services, transcoded by the gateway from the protos'
`google.api.http` rules (the same descriptors generate this document).

- JSON field names are those of the protos (`procedure_id`); lowerCamelCase (`procedureId`) is
  accepted on input too. Every field of a response is present, also at its default value.
- 64-bit integers are JSON strings (`"version": "3"`); numbers are accepted on input.
- Enums are their value names. Text is UTF-8.
- Errors: `{"error": {"code": <HTTP status>, "status": "<gRPC code>", "message": "...",
  "details": [...]}}`; details are google.rpc messages with their `@type`: `BadRequest`
  (`field_violations` naming each invalid field), `ResourceInfo` (what was not found or
  already exists), `PreconditionFailure` and `ErrorInfo` (e.g. `reason: VERSION_CONFLICT` with
  the current version), `RetryInfo` on throttling and when a service is unavailable (also as
  a `Retry-After` header, 429 and 503), and always a `LocalizedMessage` to show people, in
  Vietnamese (`vi-VN`, the default) or English (`en`) as the `Accept-Language` header asks.
  HTTP statuses follow google/rpc/code.proto:
  INVALID_ARGUMENT and FAILED_PRECONDITION 400, NOT_FOUND 404, ALREADY_EXISTS and ABORTED 409,
  RESOURCE_EXHAUSTED 429, UNAVAILABLE 503, DEADLINE_EXCEEDED 504.
- A server-streaming operation answers Server-Sent Events when `Accept: text/event-stream`,
  else NDJSON (one `{"result": ...}` per line, a last `{"error": ...}` if it fails).
"""


# A request message's example, in its comment: one line `Example: `{"field": ...}``.
_EXAMPLE = re.compile(r"^Example: `(\{.*\})`\.?$", re.MULTILINE)


def _behaviors(fd: FieldDescriptor) -> set[int]:
    return set(fd.GetOptions().Extensions[field_behavior_pb2.field_behavior])


def _rules(fd: FieldDescriptor) -> validate_pb2.FieldRules | None:
    options = fd.GetOptions()
    return options.Extensions[validate_pb2.field] if options.HasExtension(validate_pb2.field) else None


def _is_map(fd: FieldDescriptor) -> bool:
    return fd.type == FieldDescriptor.TYPE_MESSAGE and message_of(fd).GetOptions().map_entry


def _quote_rules(rules: list[validate_pb2.Rule]) -> list[str]:
    return [f"Rule: {r.message or r.expression}" + (f" (`{r.expression}`)" if r.message and r.expression else "")
            for r in rules]


class _Builder:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.schemas: dict[str, dict[str, Any]] = {}
        self._pending: list[descriptor.Descriptor | descriptor.EnumDescriptor] = []

    # ------------------------------------------------------------------ schemas

    def ref(self, desc: descriptor.Descriptor | descriptor.EnumDescriptor) -> dict[str, Any]:
        if desc.full_name not in self.schemas:
            self.schemas[desc.full_name] = {}  # reserved; filled by drain()
            self._pending.append(desc)
        return {"$ref": REF + desc.full_name}

    def drain(self) -> None:
        while self._pending:
            desc = self._pending.pop()
            if isinstance(desc, descriptor.EnumDescriptor):
                self.schemas[desc.full_name] = self.enum_schema(desc)
            else:
                self.schemas[desc.full_name] = self.message_schema(desc)

    def enum_schema(self, enum: descriptor.EnumDescriptor) -> dict[str, Any]:
        lines = [self.api.comment(enum.full_name)] if self.api.comment(enum.full_name) else []
        values = []
        for value in enum.values:
            comment = self.api.comment(f"{enum.full_name}.{value.name}")
            values.append(f"- `{value.name}`" + (f": {' '.join(comment.split())}" if comment else ""))
        lines.append("\n".join(values))
        return {"type": "string", "title": enum.name, "enum": [v.name for v in enum.values],
                "description": "\n\n".join(lines)}

    def message_schema(self, message: descriptor.Descriptor, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
        properties, required = {}, []
        for fd in message.fields:
            if fd.name in exclude:
                continue
            properties[fd.name] = self.field_schema(fd, message)
            rules = _rules(fd)
            if field_behavior_pb2.REQUIRED in _behaviors(fd) or (rules is not None and rules.required):
                required.append(fd.name)
        schema: dict[str, Any] = {"type": "object", "title": message.name, "properties": properties}
        notes = [self.api.comment(message.full_name)]
        options = message.GetOptions()
        if options.HasExtension(validate_pb2.message):
            message_rules = options.Extensions[validate_pb2.message]
            notes += _quote_rules(list(message_rules.cel))
            notes += [f"Rule: `{e}`" for e in message_rules.cel_expression]
            notes += [f"Exactly one of {', '.join(f'`{n}`' for n in o.fields)}" + (" must be set" if o.required else
                      " may be set") for o in message_rules.oneof]
        for oneof in message.oneofs:
            if oneof.fields and not (len(oneof.fields) == 1 and oneof.name.startswith("_")):  # not proto3 optional
                notes.append(f"At most one of {', '.join(f'`{f.name}`' for f in oneof.fields)}.")
        description = "\n\n".join(n for n in notes if n)
        if description:
            schema["description"] = description
        if required:
            schema["required"] = required
        return schema

    def type_schema(self, fd: FieldDescriptor) -> dict[str, Any]:
        """The schema of one value of the field (an element, for a repeated field)."""
        t = fd.type
        if t == FieldDescriptor.TYPE_MESSAGE:
            wkt = _WKT_SCHEMAS.get(message_of(fd).full_name)
            return dict(wkt) if wkt is not None else self.ref(message_of(fd))
        if t == FieldDescriptor.TYPE_ENUM:
            if enum_of(fd).full_name == "google.protobuf.NullValue":
                return {"type": "null"}
            return self.ref(enum_of(fd))
        if t == FieldDescriptor.TYPE_STRING:
            return {"type": "string"}
        if t == FieldDescriptor.TYPE_BYTES:
            return {"type": "string", "format": "byte", "contentEncoding": "base64"}
        if t == FieldDescriptor.TYPE_BOOL:
            return {"type": "boolean"}
        if t == FieldDescriptor.TYPE_DOUBLE:
            return {"type": "number", "format": "double"}
        if t == FieldDescriptor.TYPE_FLOAT:
            return {"type": "number", "format": "float"}
        if t in _INTEGER_32:
            fmt, bounds = _INTEGER_32[t]
            schema: dict[str, Any] = {"type": "integer", "format": fmt}
            if bounds:
                schema["minimum"], schema["maximum"] = bounds
            return schema
        if t in _INTEGER_64:
            return {"type": "string", "format": _INTEGER_64[t], "pattern": "^-?[0-9]+$"}
        raise ValueError(f"unexpected field type {t} of {fd.full_name}")

    def field_schema(self, fd: FieldDescriptor, parent: descriptor.Descriptor | None = None) -> dict[str, Any]:
        rules = _rules(fd)
        notes: list[str] = []
        comment = self.api.comment(fd.full_name)
        if _is_map(fd):
            key_fd, value_fd = message_of(fd).fields_by_name["key"], message_of(fd).fields_by_name["value"]
            value = self.type_schema(value_fd)
            if rules is not None and rules.WhichOneof("type") == "map":
                notes += self.apply_rules(value, value_fd, rules.map.values)
            schema: dict[str, Any] = {"type": "object", "additionalProperties": value}
            if key_fd.type != FieldDescriptor.TYPE_STRING:
                notes.append("Keys are the string form of the map's key type.")
            if rules is not None and rules.WhichOneof("type") == "map":
                if rules.map.HasField("min_pairs"):
                    schema["minProperties"] = rules.map.min_pairs
                if rules.map.HasField("max_pairs"):
                    schema["maxProperties"] = rules.map.max_pairs
        elif fd.is_repeated:
            item = self.type_schema(fd)
            schema = {"type": "array", "items": item}
            if rules is not None and rules.WhichOneof("type") == "repeated":
                repeated = rules.repeated
                if repeated.HasField("min_items"):
                    schema["minItems"] = repeated.min_items
                if repeated.HasField("max_items"):
                    schema["maxItems"] = repeated.max_items
                if repeated.unique:
                    schema["uniqueItems"] = True
                notes += self.apply_rules(item, fd, repeated.items)
        else:
            schema = self.type_schema(fd)
            if rules is not None:
                notes += self.apply_rules(schema, fd, rules)
        behaviors = _behaviors(fd)
        if field_behavior_pb2.OUTPUT_ONLY in behaviors:
            schema["readOnly"] = True
            notes.append("Output only: set by the server, ignored in requests.")
        if field_behavior_pb2.INPUT_ONLY in behaviors:
            schema["writeOnly"] = True
        if field_behavior_pb2.IMMUTABLE in behaviors:
            notes.append("Immutable: cannot change once set.")
        if rules is not None:
            if rules.ignore == validate_pb2.IGNORE_IF_ZERO_VALUE:
                notes.append("The rules apply when it is set (not empty).")
            notes += _quote_rules(list(rules.cel))
            notes += [f"Rule: `{e}`" for e in rules.cel_expression]
        description = "\n\n".join(n for n in [comment, *notes] if n)
        if description:
            schema["description"] = description
        return schema

    def apply_rules(self, schema: dict[str, Any], fd: FieldDescriptor, rules: validate_pb2.FieldRules) -> list[str]:
        """Adds the protovalidate rules JSON Schema can say to schema; returns the others as
        notes."""
        notes: list[str] = []
        kind = rules.WhichOneof("type")
        if kind == "string":
            s = rules.string
            if s.HasField("const"):
                schema["const"] = s.const
            if s.HasField("len"):
                schema["minLength"] = schema["maxLength"] = s.len
            if s.HasField("min_len"):
                schema["minLength"] = s.min_len
            if s.HasField("max_len"):
                schema["maxLength"] = s.max_len
            if s.HasField("pattern"):
                schema["pattern"] = s.pattern
            if list(getattr(s, "in")):
                schema["enum"] = list(getattr(s, "in"))
            if s.not_in:
                schema["not"] = {"enum": list(s.not_in)}
            well_known = s.WhichOneof("well_known")
            if well_known in _STRING_FORMATS:
                schema["format"] = _STRING_FORMATS[well_known]
            elif well_known in _STRING_PATTERNS and "pattern" not in schema:
                schema["pattern"] = _STRING_PATTERNS[well_known]
            elif well_known:
                notes.append(f"Must be a valid {well_known.replace('_', ' ')}.")
            for name in ("prefix", "suffix", "contains", "not_contains"):
                if s.HasField(name):
                    notes.append(f"{name.replace('_', ' ').capitalize()}: `{getattr(s, name)}`.")
            for limit in ("min_bytes", "max_bytes", "len_bytes"):
                if s.HasField(limit):
                    notes.append(f"{limit.replace('_', ' ')}: {getattr(s, limit)} (UTF-8 bytes).")
            if rules.required and "minLength" not in schema and "const" not in schema:
                # A rule of requests: a response may show it empty (a draft's applicant not yet
                # complete), and a component schema serves both.
                notes.append("Required in requests (not empty).")
            if rules.ignore == validate_pb2.IGNORE_IF_ZERO_VALUE:
                # The rules hold only when it is set: empty is valid too.
                constraints = {k: schema.pop(k) for k in _STRING_CONSTRAINTS if k in schema}
                if constraints:
                    schema["anyOf"] = [{"const": ""}, constraints]
            if s.example:
                schema["examples"] = list(s.example)
        elif kind is not None and kind in _RULES_OF_TYPE.values():
            n = getattr(rules, kind)
            bounds = {"gt": None, "gte": None, "lt": None, "lte": None}
            for name in bounds:
                if n.HasField(name):
                    bounds[name] = getattr(n, name)
            values_in, values_not_in = list(getattr(n, "in")), list(n.not_in)
            const = n.const if n.HasField("const") else None
            if schema.get("type") == "string":  # 64-bit integers are JSON strings: say it in words
                words = []
                for name, word in (("gt", "more than"), ("gte", "at least"), ("lt", "less than"), ("lte", "at most")):
                    if bounds[name] is not None:
                        words.append(f"{word} {bounds[name]}")
                if const is not None:
                    words.append(f"exactly {const}")
                if values_in:
                    words.append(f"one of {', '.join(map(str, values_in))}")
                if values_not_in:
                    words.append(f"none of {', '.join(map(str, values_not_in))}")
                if words:
                    notes.append(f"Value: {', '.join(words)}.")
                if n.example:
                    schema["examples"] = [str(e) for e in n.example]
            else:
                inverted = bounds["gt"] is not None and bounds["lt"] is not None and bounds["lt"] < bounds["gt"]
                if inverted:  # protovalidate's "outside the range" form
                    notes.append(f"Value: outside ({bounds['lt']}, {bounds['gt']}).")
                else:
                    for name, key in (("gt", "exclusiveMinimum"), ("gte", "minimum"),
                                      ("lt", "exclusiveMaximum"), ("lte", "maximum")):
                        if bounds[name] is not None:
                            schema[key] = bounds[name]
                if const is not None:
                    schema["const"] = const
                if values_in:
                    schema["enum"] = values_in
                if values_not_in:
                    schema["not"] = {"enum": values_not_in}
                if n.example:
                    schema["examples"] = list(n.example)
        elif kind == "enum":
            e = rules.enum
            names = {v.number: v.name for v in enum_of(fd).values}
            if e.HasField("const"):
                schema["const"] = names.get(e.const, e.const)
            if list(getattr(e, "in")):
                schema["enum"] = [names.get(v, v) for v in getattr(e, "in")]
            if e.not_in:
                schema["not"] = {"enum": [names.get(v, v) for v in e.not_in]}
        elif kind == "bytes":
            b = rules.bytes
            for length in ("len", "min_len", "max_len"):
                if b.HasField(length):
                    notes.append(f"{length.replace('_', ' ')}: {getattr(b, length)} bytes (before base64).")
        elif kind:
            notes.append(f"Validated ({kind} rules).")
        return notes

    # ------------------------------------------------------------------ operations

    def parameter_schema(self, fd: FieldDescriptor) -> dict[str, Any]:
        schema = self.field_schema(fd)
        schema.pop("readOnly", None)
        return schema

    def operation(self, method: Method, binding: Binding, operation_id: str) -> dict[str, Any]:
        comment = self.api.comment(f"{method.service.full_name}.{method.name}")
        access, who = _access(method)
        op: dict[str, Any] = {
            "operationId": operation_id,
            "summary": method.name,
            "description": "\n\n".join(p for p in (comment, who, f"gRPC: `{method.full_path}`") if p),
            "tags": [method.service.name],
            **access,
        }
        parameters = []
        for var in binding.template.variables:
            fields = _field_path(method.input, var.field_path)
            schema = self.parameter_schema(fields[-1])
            description = schema.pop("description", "")
            if not var.single_segment:
                description += f"\n\nMatches `{var.pattern}` (slashes included)."
            parameters.append({"name": var.name, "in": "path", "required": True,
                               "description": description.strip(), "schema": schema})
        if binding.body != "*":
            bound = [v.name for v in binding.template.variables] + ([binding.body] if binding.body else [])
            for dotted, fd in query_fields(method.input, bound):
                if not is_query_settable(fd):
                    continue
                schema = self.parameter_schema(fd)
                description = schema.pop("description", "")
                param: dict[str, Any] = {"name": dotted, "in": "query", "description": description, "schema": schema}
                if "." not in dotted and field_behavior_pb2.REQUIRED in _behaviors(fd):
                    param["required"] = True
                if fd.is_repeated:
                    param["style"], param["explode"] = "form", True
                parameters.append(param)
        if EXPECTED_VERSION_FIELD in method.input.fields_by_name and binding.http_method != "GET":
            parameters.append({"name": "If-Match", "in": "header", "schema": {"type": "string"},
                               "description": "The resource's ETag as read (e.g. `\"3\"`): stands for "
                                              "`expected_version`; 412 when the resource has changed since."})
        if method.server_streaming and RESUME_POSITION_FIELD in method.output.fields_by_name \
                and RESUME_AFTER_FIELD in method.input.fields_by_name:
            resume = ("Resumes the stream after this position (an SSE event's `id`): what arrived since is "
                      "sent first, none twice.")
            parameters.append({"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"},
                               "description": f"{resume} An EventSource sends it by itself when it reconnects; "
                                              f"it wins over `{LAST_EVENT_ID_PARAMETER}`."})
            parameters.append({"name": LAST_EVENT_ID_PARAMETER, "in": "query", "schema": {"type": "string"},
                               "description": f"{resume} For a first connection (an EventSource cannot set "
                                              "headers)."})
        if parameters:
            op["parameters"] = parameters
        if binding.body:
            op["requestBody"] = self.request_body(method, binding)
        op["responses"] = {"200": self.success(method, binding),
                           "default": {"$ref": "#/components/responses/Error"}}
        return op

    def request_body(self, method: Method, binding: Binding) -> dict[str, Any]:
        if binding.body == "*":
            top_level = frozenset(v.field_path[0] for v in binding.template.variables if len(v.field_path) == 1)
            if top_level:
                name = f"{method.service.full_name}.{method.name}Body"
                schema = self.message_schema(method.input, exclude=top_level)
                schema["title"] = f"{method.name}Body"
                intro = f"{method.input.name} without the fields in the path ({', '.join(sorted(top_level))})."
                schema["description"] = f"{intro}\n\n{schema.get('description', '')}".strip()
                self.schemas[name] = schema
                body_schema: dict[str, Any] = {"$ref": REF + name}
            else:
                body_schema = self.ref(method.input)
            required_fields = bool(self.schema_of(body_schema).get("required"))
        else:
            fd = method.input.fields_by_name[binding.body]
            body_schema = self.field_schema(fd)
            required_fields = field_behavior_pb2.REQUIRED in _behaviors(fd)
        content: dict[str, Any] = {"application/json": {"schema": body_schema}}
        example = self.body_example(method, binding)
        if example is not None:
            content["application/json"]["example"] = example
        upload = single_bytes_field(method.input) if binding.body == "*" else None
        if upload is not None:  # the file itself may be the body (transcode.py)
            file = {"type": "string", "contentMediaType": "application/octet-stream"}
            content["multipart/form-data"] = {"schema": {
                "type": "object", "required": [upload.name], "properties": {upload.name: file},
                "description": f"The file as the part `{upload.name}`, the other fields of the JSON body as form "
                               "fields; the part's Content-Type and file name fill `content_type` and `name` when "
                               "the message has them and they are not given."}}
            content["application/octet-stream"] = {"schema": {
                **file, "description": f"The file itself as `{upload.name}`, with its own Content-Type (e.g. "
                                       "application/pdf); the other fields in the query string."}}
        return {"required": required_fields, "content": content}

    def body_example(self, method: Method, binding: Binding) -> Any:
        """The request message's example (an `Example: `{...}`` line of its comment), as the
        docs page's body: without the fields the path binds. A malformed one fails the build
        (and so `make gateway-openapi` and the drift test)."""
        match = _EXAMPLE.search(self.api.comment(method.input.full_name))
        if match is None or binding.body != "*":
            return None
        try:
            example = json.loads(match.group(1))
        except ValueError as e:
            raise ValueError(f"{method.input.full_name}: its example is not JSON: {e}") from None
        try:  # as the gateway would read it: field names, enum names, value types
            json_format.ParseDict(example, message_factory.GetMessageClass(method.input)())
        except json_format.ParseError as e:
            raise ValueError(f"{method.input.full_name}: its example does not fit: {e}") from None
        bound = {v.field_path[0] for v in binding.template.variables}
        return {k: v for k, v in example.items() if k not in bound}

    def schema_of(self, schema: dict[str, Any]) -> dict[str, Any]:
        self.drain()
        ref = schema.get("$ref", "")
        return self.schemas.get(ref[len(REF):], {}) if ref.startswith(REF) else schema

    def success(self, method: Method, binding: Binding) -> dict[str, Any]:
        if binding.response_body:
            schema = self.field_schema(method.output.fields_by_name[binding.response_body])
        else:
            schema = self.ref(method.output)
        description = self.api.comment(method.output.full_name) or "OK"
        if not method.server_streaming:
            content: dict[str, Any] = {"application/json": {"schema": schema}}
            download = single_bytes_field(method.output)
            if download is not None:  # Accept: application/pdf gives the file itself (transcode.py)
                content["application/pdf"] = {"schema": {
                    "type": "string", "contentMediaType": "application/pdf",
                    "description": f"`{download.name}` itself, with a Content-Disposition naming the file."}}
            return {"description": description, "content": content}
        line = {"type": "object", "properties": {"result": schema, "error": {"$ref": REF + "ErrorStatus"}},
                "description": "One line of the stream: a message (`result`), or the error that ended it."}
        return {
            "description": f"A stream of {method.output.name} messages. {description}",
            "content": {
                "text/event-stream": {"schema": {
                    "type": "string",
                    "description": f"Server-Sent Events: `event: message` with a {method.output.name} as JSON "
                                   "in `data` (and its `position` as `id` when the stream can resume); a last "
                                   "`event: error` with the error body if the stream fails; comments every "
                                   "15 s on a quiet stream."}},
                "application/x-ndjson": {"schema": line},
            },
        }


def _access(method: Method) -> tuple[dict[str, Any], str]:
    """The operation's access fields and the sentence saying who may call it."""
    options = method.method.GetOptions()
    if not options.HasExtension(access_pb2.access):
        return {}, ""
    access = options.Extensions[access_pb2.access]
    if access.public:
        return {"x-motcua-access": "public", "security": []}, "Who may call: anyone, without a token."
    if access.authenticated:
        return {"x-motcua-access": "authenticated"}, \
            "Who may call: any signed-in caller (the service checks that the resource is theirs)."
    roles = list(access.roles)
    return {"x-motcua-access": "roles", "x-motcua-roles": roles}, \
        f"Who may call: callers with one of the roles {', '.join(f'`{r}`' for r in roles)} (else 403, `ROLE_REQUIRED`)."


def _field_path(message: descriptor.Descriptor, path: tuple[str, ...]) -> list[FieldDescriptor]:
    fields = [message.fields_by_name[path[0]]] if path else []
    for name in path[1:]:
        fields.append(message_of(fields[-1]).fields_by_name[name])
    return fields


def _error_components(builder: _Builder) -> tuple[dict[str, Any], dict[str, Any]]:
    for detail in ERROR_DETAIL_TYPES:
        builder.ref(detail.DESCRIPTOR)
    detail_refs = [{"allOf": [{"$ref": REF + "google.protobuf.Any"}, {"$ref": REF + d.DESCRIPTOR.full_name}]}
                   for d in ERROR_DETAIL_TYPES]
    status_names = sorted({code.name for code in HTTP_STATUS} - {"OK"})
    error_status = {
        "type": "object",
        "title": "ErrorStatus",
        "required": ["code", "status", "message", "details"],
        "properties": {
            "code": {"type": "integer", "description": "The HTTP status."},
            "status": {"type": "string", "enum": status_names, "description": "The gRPC status code name."},
            "message": {"type": "string", "description": "What went wrong, for developers."},
            "details": {"type": "array", "items": {"anyOf": [*detail_refs, {"$ref": REF + "google.protobuf.Any"}]},
                        "description": "google.rpc error details, each with its `@type`."},
        },
    }
    error = {"type": "object", "title": "Error", "required": ["error"],
             "properties": {"error": {"$ref": REF + "ErrorStatus"}}}
    schemas = {"ErrorStatus": error_status, "Error": error, "google.protobuf.Any": _WKT_SCHEMAS["google.protobuf.Any"]}
    responses = {"Error": {"description": "An error: the gRPC status as JSON, with its google.rpc details.",
                           "content": {"application/json": {"schema": {"$ref": REF + "Error"}}}}}
    return schemas, responses


def build_openapi(api: Api, *, title: str = "motcua API", version: str = "v1") -> dict[str, Any]:
    builder = _Builder(api)
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    for method in api.methods:
        if method.client_streaming:
            continue
        for i, binding in enumerate(method.bindings):
            operation_id = f"{method.service.name}_{method.name}" + (f"_{i + 1}" if i else "")
            while operation_id in used_ids:
                operation_id += "_"
            used_ids.add(operation_id)
            path = paths.setdefault(binding.template.openapi_path, {})
            path[binding.http_method.lower()] = builder.operation(method, binding, operation_id)
    error_schemas, error_responses = _error_components(builder)
    builder.drain()
    tags = [{"name": s.name, "description": api.comment(s.full_name) or s.full_name}
            for s in api.services if any(m.service is s for m in api.methods)]
    schemas = {**dict(sorted(builder.schemas.items())), **error_schemas}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version, "description": API_DESCRIPTION},
        "tags": tags,
        "paths": paths,  # in the order of the protos: services, then RPCs as declared
        # Relative: the gateway that serves the document serves the API (and, under the same
        # URL, the OIDC provider), whatever host name a client reached it by.
        "servers": [{"url": "/", "description": "This gateway"}],
        "components": {"schemas": schemas, "responses": error_responses, "securitySchemes": SECURITY_SCHEMES},
        # Every call carries the caller's access token, which the services verify; public
        # operations (the token endpoint, the catalog) say `security: []` themselves. Either
        # scheme: the token is the same bearer token, obtained by hand or by an OIDC login.
        "security": [{"bearer": []}, {"oidc": ["openid", "api"]}],
    }


SECURITY_SCHEMES = {
    "bearer": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "An access token of the identity service (in development: POST /v1/tokens:issueDevelopment).",
    },
    "oidc": {
        "type": "openIdConnect",
        # Relative to the server: the provider's issuer is the gateway's own URL.
        "openIdConnectUrl": "/.well-known/openid-configuration",
        "description": "A login with the identity service's OpenID Connect provider (authorization code with "
                       "PKCE for browser applications); the access token it issues is sent as a bearer token. "
                       "Scope `api` makes a token the services accept.",
    },
}



def main(argv: list[str] | None = None) -> None:
    """python -m motcua.gateway.openapi [--out FILE] [--validate]: the document, without a running
    gateway."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, help="write it here (default: standard output)")
    parser.add_argument("--descriptor-set", type=Path,
                        help="FileDescriptorSet with comments (default: the one beside the stubs)")
    parser.add_argument("--validate", action="store_true", help="check it with openapi-spec-validator")
    args = parser.parse_args(argv)
    document = build_openapi(load_api(args.descriptor_set, required=args.descriptor_set is not None))
    if args.validate:
        # A development tool (the root dev group), not a dependency of the gateway.
        from openapi_spec_validator import validate

        validate(document)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"{args.out}: {len(document['paths'])} paths" + (", valid" if args.validate else ""), file=sys.stderr)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
