"""Partial updates (AIP-134): an Update RPC's `update_mask` names the fields that change.

The servicer turns a masked update into the full content its application already takes: the
resource as it is, with the named fields taken from the request. Optimistic concurrency
(`expected_version`) still guards the write, so a concurrent edit between the read and the
write fails as any other would. Paths are checked against the message: one that names no
field, or a field the server sets (OUTPUT_ONLY) or the caller may not edit, is an
INVALID_ARGUMENT naming `update_mask`, before anything is read or written.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeVar

from google.api import field_behavior_pb2
from google.protobuf import descriptor, field_mask_pb2
from google.protobuf.message import Message

from .errors import FieldViolation, InvalidArgument

M = TypeVar("M", bound=Message)

FULL_REPLACEMENT = "*"  # AIP-134: every field is replaced


def is_partial(mask: field_mask_pb2.FieldMask) -> bool:
    """Whether the mask names some fields (neither empty nor `*`, which replace every field)."""
    return bool(mask.paths) and list(mask.paths) != [FULL_REPLACEMENT]


def _output_only(fd: descriptor.FieldDescriptor) -> bool:
    return field_behavior_pb2.OUTPUT_ONLY in fd.GetOptions().Extensions[field_behavior_pb2.field_behavior]


def check_mask(mask: field_mask_pb2.FieldMask, message: descriptor.Descriptor, *, editable: Collection[str] = (),
               field: str = "update_mask") -> None:
    """Raises InvalidArgument naming every path that is not an editable field of ``message``.
    editable: the top-level fields the caller may change (empty: every field not OUTPUT_ONLY)."""
    violations = []
    for path in mask.paths:
        current: descriptor.Descriptor | None = message
        problem = ""
        for depth, name in enumerate(path.split(".")):
            fd = current.fields_by_name.get(name) if current is not None else None
            if fd is None:
                problem = f"{message.name} has no field {path!r}"
                break
            if _output_only(fd) or (depth == 0 and editable and name not in editable):
                problem = f"{path!r} is not editable"
                break
            if fd.is_repeated and depth < len(path.split(".")) - 1:
                problem = f"{path!r} goes into a repeated field; name the whole field"
                break
            current = fd.message_type if fd.type == descriptor.FieldDescriptor.TYPE_MESSAGE else None
        if problem:
            violations.append(FieldViolation(field, problem, "INVALID_FIELD_MASK"))
    if violations:
        raise InvalidArgument(*violations)


def apply_mask(current: M, patch: M, mask: field_mask_pb2.FieldMask) -> M:
    """A copy of ``current`` with the fields the (checked) mask names taken from ``patch``:
    messages and lists replaced whole, a field named but unset in ``patch`` cleared."""
    merged = type(current)()
    merged.CopyFrom(current)
    mask.MergeMessage(patch, merged, replace_message_field=True, replace_repeated_field=True)
    return merged
