"""Composition root of the notifications service."""

from __future__ import annotations

from datetime import timedelta

from motcua.kernel.agencies import agency_tree_consumer
from motcua.kernel.audit_api import AuditLog
from motcua.kernel.config import Settings
from motcua.kernel.grpc_server import serve
from motcua.kernel.runtime import Service
from motcua.notifications.v1 import notification_service_pb2, notification_service_pb2_grpc

from .adapters import Channel
from .adapters.email import SmtpChannel
from .adapters.esms import EsmsChannel
from .adapters.zalo import ZaloZnsChannel
from .api import NotificationServicer
from .application import NotificationsApplication, TemplateCache
from .callbacks import callbacks_app
from .config import NotificationSettings
from .consumers import account_events_consumer, dossier_events_consumer, signing_events_consumer
from .delivery import DeliveryWorker, Sender
from .domain import EMAIL, SMS, ZALO
from .erasures import erasures_consumer
from .inbox import InboxHub
from .personal_data import key_encryption_keys, seal_personal_data


def build(settings: Settings) -> Service:
    own = NotificationSettings.from_env(settings)
    app = NotificationsApplication(settings, zone=own.zone)
    seal_personal_data(app, key_encryption_keys())
    app.prepare()
    app.recorder.attempt_lease = timedelta(seconds=own.attempt_lease)
    channels: dict[str, Channel] = {}
    if own.smtp is not None:
        channels[EMAIL] = SmtpChannel(own.smtp)
    if own.esms is not None:
        channels[SMS] = EsmsChannel(own.esms)
    if own.zalo is not None:
        channels[ZALO] = ZaloZnsChannel(own.zalo)
    # Every role knows the channels: the API queues on them, the sender falls back along them.
    app.external_channels = frozenset(channels)
    app.quiet_hours = own.quiet_hours
    # Another replica's revision of a template reaches this one's rendering within this time.
    app.templates = TemplateCache(max_age=own.template_cache_seconds)
    workers = []
    if channels and own.sends:
        sender = Sender(app, channels, own.retry, own.rates, own.confirm_within)
        workers.append(DeliveryWorker(sender, poll_interval=own.poll_interval, threads=own.senders))
    if not own.serves_api:
        # A sender process: the delivery worker only (its gRPC server answers health checks,
        # and auditors as every process of the service does).
        return Service(settings=settings, app=app, registrations=[], workers=workers,
                       audit=AuditLog(app, app.agency_tree))
    hub = InboxHub(
        app,
        poll_interval=own.inbox_poll_interval,
        max_streams=own.inbox_max_streams,
        max_streams_per_holder=own.inbox_max_streams_per_account,
    )
    servicer = NotificationServicer(app, hub, backlog=own.inbox_backlog)
    has_callbacks = own.esms is not None or own.zalo is not None
    return Service(
        settings=settings,
        app=app,
        registrations=[serve(notification_service_pb2, notification_service_pb2_grpc, servicer)],
        consumers=[dossier_events_consumer(app), account_events_consumer(app), signing_events_consumer(app),
                   agency_tree_consumer(app), erasures_consumer(app)],
        on_shutdown=[hub.shutdown],
        audit=AuditLog(app, app.agency_tree),
        workers=workers,
        # Receipts need an address the providers reach; without MOTCUA_HTTP_ADDR none come.
        http_app=callbacks_app(app, own.callback_secrets) if has_callbacks and settings.http_addr else None,
    )
