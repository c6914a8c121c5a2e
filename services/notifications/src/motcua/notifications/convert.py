"""Every translation between the notifications service's protos and its domain values and
views. No rules here."""

from __future__ import annotations

from uuid import UUID

from motcua.kernel.timestamps import timestamp
from motcua.notifications.v1 import notification_pb2, template_pb2

from . import domain
from .views import NotificationView, TemplateView

CHANNELS = {
    domain.SMS: notification_pb2.CHANNEL_SMS,
    domain.EMAIL: notification_pb2.CHANNEL_EMAIL,
    domain.ZALO: notification_pb2.CHANNEL_ZALO,
    domain.IN_APP: notification_pb2.CHANNEL_IN_APP,
}
CHANNEL_NAMES = {number: name for name, number in CHANNELS.items()}
STATES = {
    domain.QUEUED: notification_pb2.NOTIFICATION_STATE_QUEUED,
    domain.SENT: notification_pb2.NOTIFICATION_STATE_SENT,
    domain.DELIVERED: notification_pb2.NOTIFICATION_STATE_DELIVERED,
    domain.FAILED: notification_pb2.NOTIFICATION_STATE_FAILED,
    domain.SENDING: notification_pb2.NOTIFICATION_STATE_SENDING,
    domain.BOUNCED: notification_pb2.NOTIFICATION_STATE_BOUNCED,
}
STATE_NAMES = {value: name for name, value in STATES.items()}


def template_to_proto(view: TemplateView) -> template_pb2.Template:
    return template_pb2.Template(
        template_id=str(view.template_id),
        key=view.key,
        channel=CHANNELS[view.channel],
        subject=view.subject,
        body=view.body,
        create_time=timestamp(view.create_time),
        version=view.version,
    )


def notification_to_proto(view: NotificationView) -> notification_pb2.Notification:
    return notification_pb2.Notification(
        notification_id=str(view.notification_id),
        recipient_account_id=str(view.recipient_account_id) if view.recipient_account_id else "",
        channel=CHANNELS[view.channel],
        template_id=str(view.template_id),
        template_version=view.template_version,
        subject=view.subject,
        body=view.body,
        dossier_id=str(view.dossier_id) if view.dossier_id else "",
        state=STATES[view.state],
        attempt_count=view.attempt_count,
        create_time=timestamp(view.create_time),
        read_time=timestamp(view.read_time),
        version=view.version,
        sender=view.sent_by,
        provider=view.provider,
        provider_message_id=view.provider_id,
        last_error=view.last_error,
    )


def optional_uuid(value: str) -> UUID | None:
    return UUID(value) if value else None
