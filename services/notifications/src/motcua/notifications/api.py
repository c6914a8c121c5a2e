"""gRPC servicer: translates between protos and the application, nothing more."""

from __future__ import annotations

import logging
from typing import Iterator
from uuid import UUID

import grpc

from motcua.notifications.v1 import (
    notification_pb2,
    notification_service_pb2 as pb,
    notification_service_pb2_grpc,
    template_pb2,
)

from motcua.kernel.access import AUDITOR, require_self_or
from motcua.kernel.context import current_actor
from motcua.kernel.timestamps import timestamp

from . import domain
from .application import NotificationCenter
from .inbox import CANCELLED, OVERFLOW, SHUTDOWN, InboxClosed, InboxFull, InboxHub, InboxUnavailable, TooManyStreams
from .views import NotificationView, TemplateView

log = logging.getLogger(__name__)

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
}

# Who may read anybody's notifications: auditors, who read and change nothing. A notification
# tells a person about their own dossiers, so administrators (scoped to agencies, while a
# citizen belongs to none) read only their own inbox, and only its owner marks one read.
INBOX_READERS = (AUDITOR,)

# Initial metadata of a StreamInbox call, sent once its subscription is live: every
# notification created after the client has received it reaches the stream.
STREAM_LIVE_HEADER = ("motcua-inbox", "live")


def _own_inbox(recipient: UUID | str | None, action: str, *readers: str) -> None:
    """Notifications are for their recipient (and, to read them, ``readers``)."""
    require_self_or(current_actor(), action, recipient, *readers)


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
    )


def _optional_uuid(value: str) -> UUID | None:
    return UUID(value) if value else None


class NotificationServicer(notification_service_pb2_grpc.NotificationServiceServicer):
    def __init__(self, center: NotificationCenter, hub: InboxHub, backlog: int = 100, wait_slice: float = 5.0) -> None:
        self.center = center
        self.hub = hub
        self.backlog = backlog
        self.wait_slice = wait_slice

    def CreateTemplate(self, request: pb.CreateTemplateRequest, context) -> pb.CreateTemplateResponse:
        view = self.center.create_template(request.key, CHANNEL_NAMES[request.channel], request.subject, request.body)
        return pb.CreateTemplateResponse(template=template_to_proto(view))

    def GetTemplate(self, request: pb.GetTemplateRequest, context) -> pb.GetTemplateResponse:
        return pb.GetTemplateResponse(template=template_to_proto(self.center.get_template(UUID(request.template_id))))

    def ReviseTemplate(self, request: pb.ReviseTemplateRequest, context) -> pb.ReviseTemplateResponse:
        view = self.center.revise_template(UUID(request.template_id), request.subject, request.body, request.expected_version)
        return pb.ReviseTemplateResponse(template=template_to_proto(view))

    def SendNotification(self, request: pb.SendNotificationRequest, context) -> pb.SendNotificationResponse:
        view = self.center.send_notification(
            template_id=UUID(request.template_id),
            parameters=dict(request.parameters),
            recipient_account_id=_optional_uuid(request.recipient_account_id),
            address=request.address,
            dossier_id=_optional_uuid(request.dossier_id),
            request_id=_optional_uuid(request.request_id),
        )
        return pb.SendNotificationResponse(notification=notification_to_proto(view))

    def GetNotification(self, request: pb.GetNotificationRequest, context) -> pb.GetNotificationResponse:
        view = self.center.get_notification(UUID(request.notification_id))
        _own_inbox(view.recipient_account_id, "read this notification", *INBOX_READERS)
        return pb.GetNotificationResponse(notification=notification_to_proto(view))

    def ListNotifications(self, request: pb.ListNotificationsRequest, context) -> pb.ListNotificationsResponse:
        _own_inbox(request.recipient_account_id, "list these notifications", *INBOX_READERS)
        page = self.center.list_notifications(
            UUID(request.recipient_account_id),
            CHANNEL_NAMES.get(request.channel),
            request.page_size,
            request.page_token,
        )
        return pb.ListNotificationsResponse(
            notifications=[notification_to_proto(v) for v in page.notifications], next_page_token=page.next_page_token
        )

    def MarkNotificationRead(self, request: pb.MarkNotificationReadRequest, context) -> pb.MarkNotificationReadResponse:
        notification_id = UUID(request.notification_id)
        _own_inbox(self.center.get_notification(notification_id).recipient_account_id, "mark this notification read")
        view = self.center.mark_read(notification_id)
        return pb.MarkNotificationReadResponse(notification=notification_to_proto(view))

    def StreamInbox(self, request: pb.StreamInboxRequest, context) -> Iterator[pb.StreamInboxResponse]:
        _own_inbox(request.account_id, "follow this inbox", *INBOX_READERS)
        try:
            subscription = self.hub.subscribe(UUID(request.account_id), holder=current_actor().subject)
        except TooManyStreams as e:
            context.set_code(grpc.StatusCode.RESOURCE_EXHAUSTED)
            context.set_details(str(e))
            return
        except InboxFull as e:
            context.set_code(grpc.StatusCode.RESOURCE_EXHAUSTED)
            context.set_details(f"{e}; retry later or on another replica")
            return
        except InboxUnavailable as e:
            context.set_code(grpc.StatusCode.UNAVAILABLE)
            context.set_details(f"{e}; reconnect")
            return
        try:
            # Runs on gRPC's own thread when the call ends (client cancel, deadline, server abort).
            context.add_callback(lambda: subscription.close(CANCELLED))
            context.send_initial_metadata((STREAM_LIVE_HEADER,))
            for entry in self.hub.backlog(subscription, self.backlog):
                yield pb.StreamInboxResponse(notification=notification_to_proto(entry.notification))
            while context.is_active():
                try:
                    arrivals = subscription.take(self.wait_slice)
                except InboxClosed as closed:
                    self._end(context, closed.reason)
                    return
                for view in arrivals:
                    yield pb.StreamInboxResponse(notification=notification_to_proto(view))
        finally:
            self.hub.unsubscribe(subscription)

    @staticmethod
    def _end(context, reason: str) -> None:
        if reason == SHUTDOWN:
            context.set_code(grpc.StatusCode.UNAVAILABLE)
            context.set_details("the server is shutting down; reconnect")
        elif reason == OVERFLOW:
            context.set_code(grpc.StatusCode.RESOURCE_EXHAUSTED)
            context.set_details("the stream fell too far behind; reconnect (unread notifications are sent again)")
