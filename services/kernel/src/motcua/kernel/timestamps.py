"""Moments on the wire: datetimes as google.protobuf.Timestamp (pure of gRPC)."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp


def timestamp(moment: datetime | None) -> Timestamp | None:
    """The Timestamp of an aware datetime; None stays None (an unset message field)."""
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp
