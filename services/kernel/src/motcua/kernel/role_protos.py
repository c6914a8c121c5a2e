"""The ``Role`` proto enum (``motcua.identity.v1.Role``) and the role vocabulary
(``motcua.kernel.roles``): the one place that maps them, by the proto's own rule (a role's
name is its enum value's name without ``ROLE_``, in lower case).

Kept apart from ``roles`` so that domain code using the vocabulary loads no protobuf.
"""

from __future__ import annotations

from motcua.identity.v1.role_pb2 import Role

ROLE_PREFIX = "ROLE_"


def role_name(role: int) -> str:
    """ROLE_DESK_OFFICER -> desk_officer, the name used in the `roles` claim; ROLE_UNSPECIFIED
    gives "unspecified", which no rule accepts (ValueError for a number the enum lacks)."""
    # Any number is accepted here (an unknown one is the ValueError above), not only the enum's.
    return Role.Name(Role.ValueType(role)).removeprefix(ROLE_PREFIX).lower()


def role_enum(name: str) -> Role.ValueType:
    """desk_officer -> ROLE_DESK_OFFICER (ValueError for a name the enum lacks)."""
    return Role.Value(ROLE_PREFIX + name.upper())
