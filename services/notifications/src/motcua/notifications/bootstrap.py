"""Composition root of the notifications service.

The contract is served already; its RPCs answer UNIMPLEMENTED until the
service's own domain lands.
"""

from __future__ import annotations

from motcua.kernel.config import Settings
from motcua.kernel.eventstore import ServiceApplication
from motcua.kernel.grpc_server import serve
from motcua.kernel.runtime import Service
from motcua.notifications.v1 import notification_service_pb2, notification_service_pb2_grpc


class NotificationApplication(ServiceApplication):
    name = "notifications"


def build(settings: Settings) -> Service:
    app = NotificationApplication(settings)
    return Service(
        settings=settings,
        app=app,
        registrations=[serve(notification_service_pb2, notification_service_pb2_grpc)],
    )
