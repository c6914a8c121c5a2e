"""The API the gateway serves, read from the protos' descriptors: every RPC with its HttpRules.

Where the descriptors come from
-------------------------------
The API itself (services, methods, messages, HttpRules, field options) comes from the generated
stubs that are installed beside the gateway: every `motcua.<svc>.<version>.*_pb2` module whose
file declares a service. They are in every image that can run the gateway (the kernel imports
them; every service runs on them), they are the very classes the gRPC calls serialize, and they
cannot disagree with the code deployed with them. Nothing is listed by hand: a new service or
RPC in protos/ is served once `make gen` regenerated the stubs.

What the generated modules lack is the protos' comments (protoc leaves source info out of
them), which the OpenAPI document uses as descriptions. Those come from the FileDescriptorSet
that `make gen` writes with `--include_source_info`: the file named by MOTCUA_DESCRIPTOR_SET,
or else `descriptor_set.binpb` beside the installed stubs (protos/gen/ in the repo). A file of
the set lends its comments only if it describes exactly the installed file (compared without
source info and json_name), so a stale set cannot document an API that is not served. Without a
set (an image that did not copy it) the gateway serves the same routes; the document just has
no descriptions, and a warning says so.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.api import annotations_pb2
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool

from .pathtemplate import PathTemplate, TemplateError, parse as parse_template

log = logging.getLogger(__name__)

ROOT_PACKAGE = "motcua"
DESCRIPTOR_SET_NAME = "descriptor_set.binpb"
_VERSION = re.compile(r"v\d+((alpha|beta)\d*)?")
# Well-known message types whose JSON form is a string (or a scalar): settable from the path and
# the query string.
SCALAR_WKT = frozenset({
    "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask",
    "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
})


def message_of(fd: descriptor.FieldDescriptor) -> descriptor.Descriptor:
    """The type of a message field (protobuf types it as optional: it is None on other fields)."""
    assert fd.message_type is not None, f"{fd.full_name} is not a message field"
    return fd.message_type


def enum_of(fd: descriptor.FieldDescriptor) -> descriptor.EnumDescriptor:
    """The type of an enum field (protobuf types it as optional: it is None on other fields)."""
    assert fd.enum_type is not None, f"{fd.full_name} is not an enum field"
    return fd.enum_type

# FileDescriptorProto / DescriptorProto / ... field numbers, for source_code_info paths.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM, _MESSAGE_ONEOF = 2, 3, 4, 8
_ENUM_VALUE = 2
_SERVICE_METHOD = 2


class DescriptorError(Exception):
    """The descriptors cannot be served (a malformed HttpRule, an unreadable descriptor set)."""


@dataclass(frozen=True)
class Binding:
    """One HTTP binding of an RPC: the rule itself or one of its additional_bindings."""

    http_method: str  # GET, POST, ...
    template: PathTemplate
    body: str  # "" (no body), "*" (the whole request) or a top-level field name
    response_body: str  # "" (the whole response) or a top-level field name


@dataclass(frozen=True)
class Method:
    service: descriptor.ServiceDescriptor
    method: descriptor.MethodDescriptor
    backend: str  # the MOTCUA_BACKENDS name serving it
    bindings: tuple[Binding, ...]

    @property
    def name(self) -> str:
        return self.method.name

    @property
    def full_path(self) -> str:
        """The gRPC method path, /package.Service/Method."""
        return f"/{self.service.full_name}/{self.method.name}"

    @property
    def input(self) -> descriptor.Descriptor:
        return self.method.input_type

    @property
    def output(self) -> descriptor.Descriptor:
        return self.method.output_type

    @property
    def server_streaming(self) -> bool:
        return bool(self.method.server_streaming)

    @property
    def client_streaming(self) -> bool:
        return bool(self.method.client_streaming)


@dataclass
class Api:
    methods: list[Method]
    services: list[descriptor.ServiceDescriptor]
    comments: dict[str, str] = field(default_factory=dict)  # full name -> comment
    comments_source: str | None = None  # where the comments came from, for the log

    def comment(self, full_name: str) -> str:
        return self.comments.get(full_name, "")


# Packages every service serves over its own data (the auditor API): the named request field,
# bound in the path (/v1/audit/{service}/...), says which backend answers.
ROUTED_BY_FIELD = {"motcua.audit.v1": "service"}


def backend_of(method: Method, request: Any) -> str:
    """The MOTCUA_BACKENDS name to call for this request."""
    field_name = ROUTED_BY_FIELD.get(method.service.file.package)
    return getattr(request, field_name) if field_name else method.backend


def backend_name(package: str) -> str:
    """The MOTCUA_BACKENDS name of a proto package: motcua.<svc>.v1 -> <svc>."""
    parts = package.split(".")
    while len(parts) > 1 and _VERSION.fullmatch(parts[-1]):
        parts.pop()
    return parts[-1]


def _stub_modules() -> list[tuple[str, Path]]:
    """(module name, file) of every generated *_pb2 module under the motcua namespace package."""
    root = importlib.import_module(ROOT_PACKAGE)
    found: dict[str, Path] = {}
    for base in map(Path, root.__path__):
        for path in sorted(base.glob("*/*/*_pb2.py")):
            if _VERSION.fullmatch(path.parent.name):
                rel = path.relative_to(base).with_suffix("")
                found.setdefault(".".join((ROOT_PACKAGE, *rel.parts)), path)
    return sorted(found.items())


def _bindings(method: descriptor.MethodDescriptor) -> tuple[Binding, ...]:
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return ()
    rule = options.Extensions[annotations_pb2.http]
    rules = [rule, *rule.additional_bindings]
    bindings = []
    for r in rules:
        kind = r.WhichOneof("pattern")
        if kind is None:
            raise DescriptorError(f"{method.full_name}: an HttpRule without a pattern")
        if kind == "custom":
            verb, path = r.custom.kind.upper(), r.custom.path
        else:
            verb, path = kind.upper(), getattr(r, kind)
        try:
            template = parse_template(path)
        except TemplateError as e:
            raise DescriptorError(f"{method.full_name}: {e}") from e
        for var in template.variables:
            _check_field_path(method.input_type, var.field_path, f"{method.full_name}: path variable {var.name}")
        if r.body not in ("", "*") and r.body not in method.input_type.fields_by_name:
            raise DescriptorError(f"{method.full_name}: body {r.body!r} "
                                  f"is not a field of {method.input_type.full_name}")
        if r.response_body and r.response_body not in method.output_type.fields_by_name:
            raise DescriptorError(f"{method.full_name}: response_body {r.response_body!r} "
                                  f"is not a field of {method.output_type.full_name}")
        bindings.append(Binding(verb, template, r.body, r.response_body))
    return tuple(bindings)


def _check_field_path(message: descriptor.Descriptor, path: tuple[str, ...], what: str) -> None:
    for i, name in enumerate(path):
        fd = message.fields_by_name.get(name)
        if fd is None:
            raise DescriptorError(f"{what}: {message.full_name} has no field {name!r}")
        if i < len(path) - 1:
            if fd.message_type is None or fd.is_repeated:
                raise DescriptorError(f"{what}: {name} is not a singular message field")
            message = fd.message_type
        elif fd.is_repeated or (fd.message_type is not None and fd.message_type.full_name not in SCALAR_WKT):
            raise DescriptorError(f"{what}: {name} is repeated or a message; a path binds one scalar value")


def load_api(descriptor_set: Path | None = None, *, required: bool = False) -> Api:
    """The API of the installed stubs, with the comments of the descriptor set (see the module doc).

    required: descriptor_set was named explicitly, so failing to read it is an error.
    """
    pool = descriptor_pool.Default()
    files: list[descriptor.FileDescriptor] = []
    stub_paths: list[Path] = []
    for module_name, path in _stub_modules():
        module = importlib.import_module(module_name)
        file = module.DESCRIPTOR
        if file.services_by_name:
            files.append(file)
            stub_paths.append(path)
    services, methods = [], []
    for file in files:
        for service in file.services_by_name.values():
            services.append(service)
            for m in service.methods:
                bindings = _bindings(m)
                if not bindings:
                    log.warning("RPC without a google.api.http rule: not served over HTTP",
                                extra={"rpc": m.full_name})
                    continue
                methods.append(Method(service, m, backend_name(file.package), bindings))
    api = Api(methods, services)

    candidates = [descriptor_set] if descriptor_set else _default_descriptor_sets(stub_paths, files)
    for candidate in candidates:
        if candidate is None:
            continue
        try:
            data = candidate.read_bytes()
        except OSError as e:
            if required:
                raise DescriptorError(f"cannot read the descriptor set {candidate}: {e}") from e
            continue
        try:
            # Parsed only now: the stubs imported above registered the option extensions
            # (google.api.*, buf.validate.*), which are otherwise left as unknown fields.
            fds = descriptor_pb2.FileDescriptorSet.FromString(data)
        except Exception as e:
            raise DescriptorError(f"{candidate} is not a FileDescriptorSet: {e}") from e
        api.comments, stale = _comments(fds, pool)
        api.comments_source = str(candidate)
        if stale:
            log.warning("descriptor set differs from the installed stubs: its comments are not used for these files",
                        extra={"descriptor_set": str(candidate), "files": stale})
        break
    else:
        log.warning("no descriptor set with source info: the OpenAPI document has no descriptions",
                    extra={"looked_in": [str(c) for c in candidates if c]})
    return api


def _default_descriptor_sets(stub_paths: list[Path], files: list[descriptor.FileDescriptor]) -> list[Path | None]:
    """descriptor_set.binpb in the folder above the stubs' root (protos/gen/ for
    protos/gen/python/)."""
    found: list[Path | None] = []
    for path, file in zip(stub_paths, files, strict=True):
        depth = len(Path(file.name).parts)  # motcua/procedures/v1/x.proto -> 4 levels to the root
        root = path.parents[depth - 1]
        candidate = root.parent / DESCRIPTOR_SET_NAME
        if candidate not in found:
            found.append(candidate)
    return found


def _normalized(fdp: descriptor_pb2.FileDescriptorProto) -> descriptor_pb2.FileDescriptorProto:
    copy = descriptor_pb2.FileDescriptorProto()
    copy.CopyFrom(fdp)
    copy.ClearField("source_code_info")

    def clear(messages) -> None:
        for m in messages:
            for f in (*m.field, *m.extension):
                f.ClearField("json_name")
            clear(m.nested_type)

    clear(copy.message_type)
    for f in copy.extension:
        f.ClearField("json_name")
    return copy


def _comments(fds: descriptor_pb2.FileDescriptorSet,
              pool: descriptor_pool.DescriptorPool) -> tuple[dict[str, str], list[str]]:
    """{full name: comment} for every element of the set's files that match the installed ones."""
    comments: dict[str, str] = {}
    stale: list[str] = []
    for fdp in fds.file:
        if not fdp.package.startswith(ROOT_PACKAGE + "."):
            continue  # third-party files (well-known types, google.api): rendered without their comments
        try:
            installed = pool.FindFileByName(fdp.name)
        except KeyError:
            continue  # not installed: not served either
        if not fdp.HasField("source_code_info"):
            continue
        if _normalized(fdp) != _normalized(descriptor_pb2.FileDescriptorProto.FromString(installed.serialized_pb)):
            stale.append(fdp.name)
            continue
        comments.update(_file_comments(fdp))
    return comments, stale


def _clean_comment(text: str) -> str:
    lines = [line[1:] if line.startswith(" ") else line for line in text.strip("\n").split("\n")]
    return "\n".join(lines).strip()


def _file_comments(fdp: descriptor_pb2.FileDescriptorProto) -> dict[str, str]:
    by_path: dict[tuple[int, ...], str] = {}
    for loc in fdp.source_code_info.location:
        text = "\n\n".join(_clean_comment(c) for c in (loc.leading_comments, loc.trailing_comments) if c.strip())
        if text:
            by_path[tuple(loc.path)] = text
    out: dict[str, str] = {}
    prefix = f"{fdp.package}." if fdp.package else ""

    def note(name: str, path: tuple[int, ...]) -> None:
        if path in by_path:
            out[name] = by_path[path]

    def enum(e: descriptor_pb2.EnumDescriptorProto, scope: str, path: tuple[int, ...]) -> None:
        name = scope + e.name
        note(name, path)
        for i, v in enumerate(e.value):
            # Enum values are scoped beside their enum, but keyed under it here to stay unique.
            note(f"{name}.{v.name}", (*path, _ENUM_VALUE, i))

    def message(m: descriptor_pb2.DescriptorProto, scope: str, path: tuple[int, ...]) -> None:
        name = scope + m.name
        note(name, path)
        for i, f in enumerate(m.field):
            note(f"{name}.{f.name}", (*path, _MESSAGE_FIELD, i))
        for i, o in enumerate(m.oneof_decl):
            note(f"{name}.{o.name}", (*path, _MESSAGE_ONEOF, i))
        for i, nested in enumerate(m.nested_type):
            message(nested, name + ".", (*path, _MESSAGE_NESTED, i))
        for i, e in enumerate(m.enum_type):
            enum(e, name + ".", (*path, _MESSAGE_ENUM, i))

    for i, m in enumerate(fdp.message_type):
        message(m, prefix, (_FILE_MESSAGE, i))
    for i, e in enumerate(fdp.enum_type):
        enum(e, prefix, (_FILE_ENUM, i))
    for i, s in enumerate(fdp.service):
        name = prefix + s.name
        note(name, (_FILE_SERVICE, i))
        for j, method in enumerate(s.method):
            note(f"{name}.{method.name}", (_FILE_SERVICE, i, _SERVICE_METHOD, j))
    return out
