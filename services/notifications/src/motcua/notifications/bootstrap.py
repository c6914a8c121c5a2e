"""Composition root of the notifications service."""

from __future__ import annotations

from motcua.kernel.agencies import agency_tree_consumer
from motcua.kernel.audit_api import AuditLog
from motcua.kernel.config import Settings
from motcua.kernel.grpc_server import serve
from motcua.kernel.runtime import Service
from motcua.notifications.v1 import notification_service_pb2, notification_service_pb2_grpc

from .api import NotificationServicer
from .application import NotificationsApplication
from .config import NotificationSettings
from .consumers import dossier_events_consumer
from .inbox import InboxHub


def build(settings: Settings) -> Service:
    own = NotificationSettings.from_env(settings)
    app = NotificationsApplication(settings, zone=own.zone)
    app.prepare()
    hub = InboxHub(
        app,
        poll_interval=own.inbox_poll_interval,
        max_streams=own.inbox_max_streams,
        max_streams_per_holder=own.inbox_max_streams_per_account,
    )
    servicer = NotificationServicer(app, hub, backlog=own.inbox_backlog)
    return Service(
        settings=settings,
        app=app,
        registrations=[serve(notification_service_pb2, notification_service_pb2_grpc, servicer)],
        consumers=[dossier_events_consumer(app), agency_tree_consumer(app)],
        on_shutdown=[hub.shutdown],
        audit=AuditLog(app, app.agency_tree),
    )
