"""Request validation from the protos' protovalidate annotations."""

from __future__ import annotations

import protovalidate
from buf.validate import validate_pb2
from google.protobuf.message import Message

from .errors import FieldViolation, InvalidArgument

# Compiles each message type's rules once and caches them.
_validator = protovalidate.Validator()


def field_path(path: validate_pb2.FieldPath) -> str:
    """Renders a FieldPath as ``a.b[0].c`` (map keys as ``m["k"]``)."""
    parts: list[str] = []
    for element in path.elements:
        name = element.field_name
        subscript = element.WhichOneof("subscript")
        if subscript == "index":
            name += f"[{element.index}]"
        elif subscript is not None:
            name += f"[{getattr(element, subscript)!r}]".replace("'", '"')
        parts.append(name)
    return ".".join(parts)


def validate_request(message: Message) -> None:
    """Raises InvalidArgument naming every violated field rule."""
    violations = _validator.collect_violations(message)
    if violations:
        raise InvalidArgument(
            *(FieldViolation(field_path(v.proto.field), v.proto.message, v.proto.rule_id) for v in violations)
        )
