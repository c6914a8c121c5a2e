"""gRPC servicer: translates between protos and the application, nothing more."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from uuid import UUID

import grpc

from motcua.kernel.context import current_actor
from motcua.notifications.v1 import notification_service_pb2 as pb, notification_service_pb2_grpc

from . import subject_access
from .application import NotificationRequest, NotificationsApplication
from .convert import CHANNEL_NAMES, CHANNELS, STATE_NAMES, notification_to_proto, optional_uuid, template_to_proto
from .inbox import CANCELLED, OVERFLOW, SHUTDOWN, InboxClosed, InboxFull, InboxHub, InboxUnavailable, TooManyStreams

log = logging.getLogger(__name__)

# Initial metadata of a StreamInbox call, sent once its subscription is live: every
# notification created after the client has received it reaches the stream.
STREAM_LIVE_HEADER = ("motcua-inbox", "live")


def _notification_request(message: pb.SendNotificationRequest) -> NotificationRequest:
    """A SendNotification request, or an item of SendNotifications, as the application takes it."""
    return NotificationRequest(
        template_id=UUID(message.template_id),
        parameters=dict(message.parameters),
        recipient_account_id=optional_uuid(message.recipient_account_id),
        address=message.address,
        dossier_id=optional_uuid(message.dossier_id),
        request_id=optional_uuid(message.request_id),
    )


class NotificationServicer(notification_service_pb2_grpc.NotificationServiceServicer):
    def __init__(
        self, app: NotificationsApplication, hub: InboxHub, backlog: int = 100, wait_slice: float = 5.0
    ) -> None:
        self.app = app
        self.hub = hub
        self.backlog = backlog
        self.wait_slice = wait_slice

    def CreateTemplate(self, request: pb.CreateTemplateRequest, context) -> pb.CreateTemplateResponse:
        view = self.app.create_template(request.key, CHANNEL_NAMES[request.channel], request.subject, request.body)
        return pb.CreateTemplateResponse(template=template_to_proto(view))

    def GetTemplate(self, request: pb.GetTemplateRequest, context) -> pb.GetTemplateResponse:
        return pb.GetTemplateResponse(template=template_to_proto(self.app.get_template(UUID(request.template_id))))

    def ReviseTemplate(self, request: pb.ReviseTemplateRequest, context) -> pb.ReviseTemplateResponse:
        view = self.app.revise_template(
            UUID(request.template_id), request.subject, request.body, request.expected_version
        )
        return pb.ReviseTemplateResponse(template=template_to_proto(view))

    def SendNotification(self, request: pb.SendNotificationRequest, context) -> pb.SendNotificationResponse:
        view = self.app.send_notification(_notification_request(request))
        return pb.SendNotificationResponse(notification=notification_to_proto(view))

    def SendNotifications(self, request: pb.SendNotificationsRequest, context) -> pb.SendNotificationsResponse:
        views = self.app.send_notifications([_notification_request(item) for item in request.notifications])
        return pb.SendNotificationsResponse(notifications=[notification_to_proto(v) for v in views])

    def GetNotification(self, request: pb.GetNotificationRequest, context) -> pb.GetNotificationResponse:
        view = self.app.get_notification(UUID(request.notification_id))
        return pb.GetNotificationResponse(notification=notification_to_proto(view))

    def ListNotifications(self, request: pb.ListNotificationsRequest, context) -> pb.ListNotificationsResponse:
        page = self.app.list_notifications(
            UUID(request.recipient_account_id),
            CHANNEL_NAMES.get(request.channel),
            request.page_size,
            request.page_token,
        )
        return pb.ListNotificationsResponse(
            notifications=[notification_to_proto(v) for v in page.notifications], next_page_token=page.next_page_token
        )

    def MarkNotificationRead(self, request: pb.MarkNotificationReadRequest, context) -> pb.MarkNotificationReadResponse:
        view = self.app.mark_read(UUID(request.notification_id))
        return pb.MarkNotificationReadResponse(notification=notification_to_proto(view))

    def SetContactPoints(self, request: pb.SetContactPointsRequest, context) -> pb.SetContactPointsResponse:
        contacts = self.app.set_contact_points(UUID(request.account_id), request.email, request.phone,
                                               request.zalo_phone,
                                               [CHANNEL_NAMES[c] for c in request.opted_out_channels])
        return pb.SetContactPointsResponse(email=contacts.email, phone=contacts.phone, zalo_phone=contacts.zalo_phone,
                                           opted_out_channels=[CHANNELS[c] for c in contacts.opted_out])

    def ListDossierNotifications(self, request: pb.ListDossierNotificationsRequest,
                                 context) -> pb.ListDossierNotificationsResponse:
        views = self.app.list_dossier_notifications(UUID(request.dossier_id))
        return pb.ListDossierNotificationsResponse(notifications=[notification_to_proto(v) for v in views])

    def SearchNotifications(self, request: pb.SearchNotificationsRequest, context) -> pb.SearchNotificationsResponse:
        page = self.app.search_notifications(optional_uuid(request.recipient_account_id),
                                             STATE_NAMES.get(request.state), request.page_size, request.page_token)
        return pb.SearchNotificationsResponse(notifications=[notification_to_proto(v) for v in page.notifications],
                                              next_page_token=page.next_page_token)

    def ResendNotification(self, request: pb.ResendNotificationRequest, context) -> pb.ResendNotificationResponse:
        view = self.app.resend_notification(UUID(request.notification_id), UUID(request.request_id))
        return pb.ResendNotificationResponse(notification=notification_to_proto(view))

    def GetProviderHealth(self, request: pb.GetProviderHealthRequest, context) -> pb.GetProviderHealthResponse:
        rows = self.app.provider_health(request.window_minutes)
        return pb.GetProviderHealthResponse(providers=[
            pb.ProviderHealth(channel=CHANNELS[row["channel"]], total=row["total"], sent=row["sent"],
                              delivered=row["delivered"], failed=row["failed"], pending=row["pending"],
                              last_error=row["last_error"] or "")
            for row in rows
        ])

    def ExportRecipientData(self, request: pb.ExportRecipientDataRequest,
                            context) -> pb.ExportRecipientDataResponse:
        document = subject_access.export(self.app, optional_uuid(request.account_id),
                                         [UUID(d) for d in request.dossier_ids])
        return pb.ExportRecipientDataResponse(document=json.dumps(document, ensure_ascii=False),
                                              notifications=len(document["notifications"]))

    def StreamInbox(self, request: pb.StreamInboxRequest, context) -> Iterator[pb.StreamInboxResponse]:
        account_id = UUID(request.account_id)
        self.app.check_inbox_follower(account_id)
        try:
            subscription = self.hub.subscribe(account_id, holder=current_actor().subject)
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
            for entry in self.hub.backlog(subscription, self.backlog, request.after_position):
                yield pb.StreamInboxResponse(notification=notification_to_proto(entry.notification),
                                             position=entry.position)
            while context.is_active():
                try:
                    arrivals = subscription.take(self.wait_slice)
                except InboxClosed as closed:
                    self._end(context, closed.reason)
                    return
                for entry in arrivals:
                    yield pb.StreamInboxResponse(notification=notification_to_proto(entry.notification),
                                                 position=entry.position)
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
