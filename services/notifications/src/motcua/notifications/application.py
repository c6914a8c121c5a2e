"""The notifications service's application: load, call, save; lists from the inbox read model."""

from __future__ import annotations

import logging
import threading
import time as clock
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from uuid import UUID

from motcua.kernel.access import ADMINISTRATOR, AUDITOR, holds, require_grant, require_role, require_self_or
from motcua.kernel.agencies import AgencyTree
from motcua.kernel.config import Settings
from motcua.kernel.context import Actor, acting_as, current_actor
from motcua.kernel.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied, VersionConflict
from motcua.kernel.paging import PageQuery
from motcua.kernel.readmodel import ReadModelApplication

from . import sending
from .domain import (
    DEFAULT_TEMPLATES,
    DOSSIER_RECEIVED,
    EMAIL,
    EXTERNAL_ORDER,
    IN_APP,
    OCCASIONS,
    QUEUED,
    SMS,
    STATUTORY,
    URGENT,
    VIETNAM,
    ZALO,
    AgencyLeaders,
    ContactPoints,
    DossierReplica,
    DuplicateTemplate,
    Notification,
    Template,
    agency_leaders_id,
    check_channel,
    format_date,
    format_time,
    quiet_until,
    template_id,
)
from .readmodel import InboxRecorder
from .views import InboxEntry, NotificationView, Page, TemplateView

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 50
# The operators' search: its default page, and how many rows one call reads at most, in batches.
SEARCH_DEFAULT_PAGE_SIZE = 100
SEARCH_BATCH = 200
SEARCH_SCAN_LIMIT = 2000

# Notifications one SendNotifications call queues at most (the proto's limit too): they commit
# in one transaction and come back in one response, which both stay bounded.
MAX_BATCH = 1000

# Templates read on every notification, changed seldom: kept this long (seconds) and this many.
# A revision made on this replica is seen at once; one made on another replica within the age.
TEMPLATE_CACHE_SECONDS = 5.0
TEMPLATE_CACHE_SIZE = 1000


class TemplateCache:
    """The templates last read, each for at most ``max_age`` seconds, the least recently used
    dropped beyond ``size``; shared by the gRPC and consumer threads."""

    def __init__(self, size: int = TEMPLATE_CACHE_SIZE, max_age: float = TEMPLATE_CACHE_SECONDS) -> None:
        self.size = size
        self.max_age = max_age
        self._entries: OrderedDict[UUID, tuple[float, Template]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, template_id: UUID) -> Template | None:
        with self._lock:
            entry = self._entries.get(template_id)
            if entry is None or clock.monotonic() - entry[0] > self.max_age:
                self._entries.pop(template_id, None)
                return None
            self._entries.move_to_end(template_id)
            return entry[1]

    def put(self, template: Template) -> None:
        with self._lock:
            self._entries[template.id] = (clock.monotonic(), template)
            self._entries.move_to_end(template.id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, template_id: UUID) -> None:
        with self._lock:
            self._entries.pop(template_id, None)


# Who may read anybody's notifications: auditors, who read and change nothing. A notification
# tells a person about their own dossiers, so administrators (scoped to agencies, while a
# citizen belongs to none) read only their own inbox, and only its owner marks one read.
INBOX_READERS = (AUDITOR,)


def _own_inbox(recipient: UUID | str | None, action: str, *readers: str) -> None:
    """Notifications are for their recipient (and, to read them, ``readers``)."""
    require_self_or(current_actor(), action, recipient, *readers)


@dataclass(frozen=True)
class DossierReceipt:
    """What the notification of a received dossier needs from the dossiers service's event."""

    event_id: str
    dossier_id: UUID
    code: str
    agency_id: str
    applicant_account_id: UUID | None
    receive_time: datetime | None
    appointed_return_time: datetime


@dataclass(frozen=True)
class NotificationRequest:
    """One notification a caller asks to send (SendNotification's, or an item of a batch)."""

    template_id: UUID
    parameters: Mapping[str, str]
    recipient_account_id: UUID | None
    address: str = ""
    dossier_id: UUID | None = None
    request_id: UUID | None = None


class NotificationsApplication(ReadModelApplication):
    name = "notifications"
    recorder_class = InboxRecorder
    snapshotting_intervals = {Template: 50}

    def __init__(self, settings: Settings, zone: tzinfo = VIETNAM) -> None:
        self.zone = zone
        super().__init__(settings)
        self.recorder: InboxRecorder
        # Identity's agency tree, kept by the agency-tree consumer: officers' and administrators'
        # grants reach the dossiers of their agencies' subtrees.
        self.agency_tree = AgencyTree(self)
        # The channels besides the inbox this service sends on (a provider is configured).
        self.external_channels: frozenset[str] = frozenset()
        # Local hours in which notices that are not statutory wait (start, end); None: never.
        self.quiet_hours: tuple[time, time] | None = None
        self.templates = TemplateCache()

    # --- start-up -------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Rebuilds a missing read model and writes the default templates that do not exist yet."""
        if self.recorder.rebuild_if_missing():
            log.warning("inbox read model was empty beside a log with notifications: rebuilt")
        with acting_as(Actor.system(self.settings.service)):
            for text in DEFAULT_TEMPLATES:
                if self.find(Template, template_id(text.key, text.channel)) is None:
                    try:
                        self.save(Template.write(text.key, text.channel, text.subject, text.body))
                    except VersionConflict:
                        pass  # another replica wrote it first

    # --- templates ------------------------------------------------------------------------------

    def create_template(self, key: str, channel: str, subject: str, body: str) -> TemplateView:
        template = Template.write(key, channel, subject, body)
        try:
            self.save(template)
        except VersionConflict:
            raise DuplicateTemplate("template", f"{key} ({channel})") from None
        return TemplateView.of(template)

    def get_template(self, template_id: UUID) -> TemplateView:
        return TemplateView.of(self.load(Template, template_id))

    def revise_template(self, template_id: UUID, subject: str, body: str, expected_version: int = 0) -> TemplateView:
        template = self.load(Template, template_id, expected_version)
        if template.revise(subject, body):
            self.templates.drop(template_id)
            self.save(template)
            self.templates.drop(template_id)  # a send meanwhile may have cached the version before
        return TemplateView.of(template)

    def _template(self, template_id: UUID) -> Template | None:
        """The template, from the cache when read lately (rendering only reads it)."""
        template = self.templates.get(template_id)
        if template is None:
            template = self.find(Template, template_id)
            if template is not None:
                self.templates.put(template)
        return template

    # --- notifications --------------------------------------------------------------------------

    def send_notification(self, item: NotificationRequest) -> NotificationView:
        """Renders and queues one notification from the caller (``sending`` says who may send
        what to whom); the same request id returns the first one's result, to its sender."""
        actor = current_actor()
        notification = self._notification_for(actor, item, {})
        if item.request_id is not None:
            earlier = self.find(Notification, notification.id)
            if earlier is not None:
                return self._earlier(actor, earlier)
        try:
            self.save(notification)
        except VersionConflict:
            if item.request_id is None:
                raise
            return NotificationView.of(self.load(Notification, notification.id))  # a concurrent retry won
        return NotificationView.of(notification)

    def send_notifications(self, items: Sequence[NotificationRequest]) -> list[NotificationView]:
        """Renders and queues a batch of notifications, each checked as ``send_notification``
        checks one, in one transaction: all of them or none. INVALID_ARGUMENT names every bad
        item's fields by its index (``notifications[3].address``); PERMISSION_DENIED the first
        item the caller may not send. Items whose request id was queued before are returned as
        they were (a retried batch queues nothing twice)."""
        if len(items) > MAX_BATCH:
            raise InvalidArgument.field("notifications", f"at most {MAX_BATCH} in one call, not {len(items)}")
        actor = current_actor()
        dossiers: dict[UUID, DossierReplica | None] = {}
        made: list[Notification] = []
        violations: list[FieldViolation] = []
        request_items: dict[UUID, int] = {}
        for index, item in enumerate(items):
            prefix = f"notifications[{index}]"
            if item.request_id is not None:
                first = request_items.setdefault(item.request_id, index)
                if first != index:
                    violations.append(FieldViolation(f"{prefix}.request_id", f"repeats the request id of "
                                                     f"notifications[{first}]", "DUPLICATE_REQUEST_ID"))
                    continue
            try:
                made.append(self._notification_for(actor, item, dossiers))
            except InvalidArgument as e:
                violations.extend(FieldViolation(f"{prefix}.{v.field}", v.description, v.reason) for v in e.violations)
            except NotFound as e:
                field = "template_id" if e.resource_type == "Template" else "dossier_id"
                violations.append(FieldViolation(f"{prefix}.{field}", str(e), "NOT_FOUND"))
            except PermissionDenied as e:
                raise PermissionDenied(e.action, f"{prefix}: {e.reason}", e.error_reason,
                                       **{**e.metadata, "item": str(index)}) from None
        if violations:
            raise InvalidArgument(*violations)
        repeatable = [n for n, item in zip(made, items, strict=True) if item.request_id is not None]
        earlier = self.recorder.existing([n.id for n in repeatable])
        views: dict[UUID, NotificationView] = {}
        for index, notification in enumerate(made):
            if notification.id in earlier:
                try:
                    views[notification.id] = self._earlier(actor, self.load(Notification, notification.id))
                except PermissionDenied as e:
                    raise PermissionDenied(e.action, f"notifications[{index}]: {e.reason}", e.error_reason,
                                           item=str(index)) from None
        new = [n for n in made if n.id not in views]
        if new:
            try:
                self.save(*new)
            except VersionConflict:
                if len(repeatable) < len(made):
                    raise
                # A concurrent retry of the same batch won: every item is there now.
                return [self._earlier(actor, self.load(Notification, n.id)) for n in made]
        return [views.get(n.id) or NotificationView.of(n) for n in made]

    def _notification_for(self, actor: Actor, item: NotificationRequest,
                          dossiers: dict[UUID, DossierReplica | None]) -> Notification:
        """The notification ``actor`` asks for, rendered and checked (unsaved); ``dossiers``
        keeps the dossiers read for a batch naming one dossier many times."""
        template = self._template(item.template_id)
        if template is None:
            raise NotFound("Template", str(item.template_id))
        dossier_id = item.dossier_id
        if dossier_id is not None and dossier_id not in dossiers:
            dossiers[dossier_id] = self.find(DossierReplica, dossier_id)
        dossier = dossiers[dossier_id] if dossier_id is not None else None
        sending.check_sender(actor, template.key, dossier_id is not None, dossier, item.recipient_account_id,
                             item.address, within=self.agency_tree.is_within)
        if dossier_id is not None and dossier is None and not actor.has_role(ADMINISTRATOR):
            raise NotFound("dossier", str(dossier_id))
        sending.check_parameters(template.key, template.subject, template.body, item.parameters)
        parameters = sending.parameters_for(actor, dossier, item.parameters, template.subject, template.body)
        cause = f"request:{item.request_id}" if item.request_id else f"call:{uuid.uuid4()}"
        rendered = template.render(parameters)
        sending.check_rendered(rendered)
        address = sending.normalise_address(template.channel, item.address)
        return Notification.from_template(
            cause, rendered, item.recipient_account_id, address=address, dossier_id=dossier_id, sent_by=actor.subject,
            parameters=parameters,
        )

    @staticmethod
    def _earlier(actor: Actor, earlier: Notification) -> NotificationView:
        """The notification an earlier call with the same request id queued, to its sender."""
        if earlier.sent_by != actor.subject and not actor.has_role(ADMINISTRATOR):
            raise PermissionDenied(sending.ACTION, "the request id is another sender's", error_reason="NOT_OWNER")
        return NotificationView.of(earlier)

    def replicate_dossier(self, dossier_id: UUID, code: str, agency_id: str, handling_agency_id: str,
                          applicant_account_id: UUID | None, assignee: UUID | None = None) -> list[Any]:
        """This service's copy of a dossier brought up to date (unsaved: the consumer saves it
        with the position); [] when nothing changed."""
        replica = self.find(DossierReplica, dossier_id)
        changed = False
        if replica is None:
            replica = DossierReplica(dossier_id=dossier_id, code=code, agency_id=agency_id,
                                     handling_agency_id=handling_agency_id, applicant_account_id=applicant_account_id)
            changed = True
        else:
            changed = replica.update(code, agency_id, handling_agency_id, applicant_account_id)
        if assignee is not None:
            changed = replica.assign(assignee) or changed
        return [replica] if changed else []

    def record_leader(self, agency_id: str, account_id: UUID, granted: bool) -> list[Any]:
        """This service's copy of an agency's heads brought up to date (unsaved)."""
        leaders = self.find(AgencyLeaders, agency_leaders_id(agency_id))
        if leaders is None:
            if not granted:
                return []
            leaders = AgencyLeaders(agency_id=agency_id)
        changed = leaders.grant(account_id) if granted else leaders.revoke(account_id)
        return [leaders] if changed else []

    def heads_of(self, agency_id: str) -> list[UUID]:
        """The heads of the agency, else of the nearest agency above it that has some (a
        department's dossiers reach its director when it has no leader of its own)."""
        seen: set[str] = set()
        eid: str | None = agency_id
        while eid and eid not in seen:
            seen.add(eid)
            leaders = self.find(AgencyLeaders, agency_leaders_id(eid))
            if leaders is not None and leaders.leaders:
                return list(leaders.leaders)
            eid = self.agency_tree.parent_of(eid)
        return []

    def agency_of(self, dossier_id: UUID) -> str:
        """The agency handling the dossier, as far as this service heard; "" if unknown."""
        replica = self.find(DossierReplica, dossier_id)
        return replica.handling_agency_id if replica is not None else ""

    def dossier_code(self, dossier_id: UUID) -> str:
        """The dossier's code, as far as this service heard; "" if unknown."""
        replica = self.find(DossierReplica, dossier_id)
        return replica.code if replica is not None else ""

    def assignee_of(self, dossier_id: UUID) -> UUID | None:
        """The officer holding the dossier, as far as this service heard (DossierAssigned)."""
        replica = self.find(DossierReplica, dossier_id)
        return getattr(replica, "assignee", None) if replica is not None else None

    def notify_dossier_received(self, receipt: DossierReceipt) -> list[Any]:
        """The in-app notification of the applicant (unsaved: the consumer saves it with the
        position).

        Returns the aggregates to save: the notification, and the default template if
        this is its first use. A dossier without an applicant account gets nothing in-app.
        """
        if receipt.applicant_account_id is None:
            log.info(
                "received dossier has no applicant account: no in-app notification",
                extra={"dossier_id": str(receipt.dossier_id)},
            )
            return []
        parameters = {
            "dossier_code": receipt.code,
            "appointed_date": format_date(receipt.appointed_return_time, self.zone),
            "appointed_time": format_time(receipt.appointed_return_time, self.zone),
            "received_date": format_date(receipt.receive_time, self.zone) if receipt.receive_time else "",
            "agency_id": receipt.agency_id,
        }
        return self.notify_occasion(receipt.event_id, DOSSIER_RECEIVED.key, receipt.applicant_account_id, parameters,
                                    receipt.dossier_id)

    def notify_occasion(self, event_id: str, key: str, recipient: UUID | None, parameters: Mapping[str, str],
                        dossier_id: UUID | None) -> list[Any]:
        """The notifications of one occasion to one account (unsaved: the consumer saves them
        with the position): in its inbox, and on the first channel of ``EXTERNAL_ORDER`` that
        this service sends on and the account has a contact point for. Their ids follow from
        the event's id, so a redelivered event makes the same ones, never a second send."""
        if recipient is None:
            log.info("no account to notify", extra={"occasion": key, "dossier_id": str(dossier_id)})
            return []
        cause = f"event:{event_id}"
        aggregates: list[Any] = []
        in_app = self._occasion_template(key, IN_APP, aggregates)
        aggregates.append(Notification.from_template(cause, in_app.render(parameters), recipient,
                                                     dossier_id=dossier_id, parameters=parameters))
        if key in URGENT:
            channels = self._reachable(recipient, redirect_opted_out=True)
        else:
            channel = self._next_channel(recipient, after=None, statutory=key in STATUTORY)
            channels = [channel] if channel is not None else []
        for channel in channels:
            template = self._occasion_template(key, channel, aggregates)
            aggregates.append(Notification.from_template(cause, template.render(parameters), recipient,
                                                         dossier_id=dossier_id, parameters=parameters,
                                                         not_before=self._not_before(key)))
        return aggregates

    def fall_back(self, failed: Notification) -> Notification | None:
        """When a notification of an occasion fails on one channel, the same notice on the
        next channel the recipient can be reached on (saved); None when there is none."""
        if failed.template_key not in OCCASIONS or failed.recipient_account_id is None:
            return None
        if failed.template_key in URGENT:
            return None  # sent on every channel at once: there is no next one
        channel = self._next_channel(failed.recipient_account_id, after=failed.channel,
                                     statutory=failed.template_key in STATUTORY)
        if channel is None:
            return None
        created: list[Any] = []
        template = self._occasion_template(failed.template_key, channel, created)
        notification = Notification.from_template(failed.cause, template.render(failed.parameters),
                                                  failed.recipient_account_id, dossier_id=failed.dossier_id,
                                                  parameters=failed.parameters,
                                                  not_before=self._not_before(failed.template_key))
        if self.find(Notification, notification.id) is not None:
            return None  # fallen back already (a repeated give-up)
        try:
            self.save(*created, notification)
        except VersionConflict:
            return None
        log.info("falling back to the next channel", extra={"notification_id": str(failed.id),
                                                            "from": failed.channel, "to": channel})
        return notification

    def _not_before(self, key: str) -> datetime | None:
        """The end of the quiet hours for a notice that is not statutory sent now in them."""
        if self.quiet_hours is None or key in STATUTORY or key in URGENT:
            return None
        return quiet_until(datetime.now(UTC), *self.quiet_hours, self.zone)

    def _next_channel(self, recipient: UUID, after: str | None, statutory: bool) -> str | None:
        contacts = self.find(ContactPoints, recipient)
        if contacts is None:
            return None
        order = [c for c in EXTERNAL_ORDER if c in self.external_channels]
        candidates = order[order.index(after) + 1:] if after in order else order
        return next(iter(contacts.reachable(candidates, statutory)), None)

    def _reachable(self, recipient: UUID, redirect_opted_out: bool) -> list[str]:
        """Every channel this service sends on that reaches ``recipient`` (urgent notices)."""
        contacts = self.find(ContactPoints, recipient)
        if contacts is None:
            return []
        return contacts.reachable([c for c in EXTERNAL_ORDER if c in self.external_channels], redirect_opted_out)

    def _occasion_template(self, key: str, channel: str, created: list[Any]) -> Template:
        # From the cache when read lately (every event of a batch would read it again), but
        # only stored versions go in: a default template written earlier in a consumed batch
        # is seen here unsaved (pending), and is lost with the batch if it fails.
        tid = template_id(key, channel)
        template = self.templates.get(tid)
        if template is None:
            template = self.find(Template, tid)
            if template is not None and not template.pending_events:
                self.templates.put(template)
        if template is None:
            template = next((t for t in created if isinstance(t, Template) and t.id == template_id(key, channel)),
                            None) or self._default_template(key, channel)
            if template not in created:
                created.append(template)
        return template

    # --- delivery ---------------------------------------------------------------------------------

    def address_of(self, notification: Notification) -> str:
        """Where to send it: the address it was sent to, else the recipient's contact point for
        its channel (kept by this service, never carried in integration events)."""
        if notification.address:
            return notification.address
        if notification.recipient_account_id is None:
            return ""
        contacts = self.find(ContactPoints, notification.recipient_account_id)
        return contacts.address_for(notification.channel) if contacts is not None else ""

    def report_delivery(self, provider: str, provider_id: str, delivered: bool, error: str = "",
                        bounced: bool = False) -> bool | None:
        """A provider's receipt for the message it knows by ``provider_id``: None when no
        notification has that id (yet), False when the receipt changes nothing (a repeat)."""
        notification_id = self.recorder.by_provider_id(provider, provider_id)
        if notification_id is None:
            return None
        for _ in range(3):
            notification = self.load(Notification, notification_id)
            if not notification.report_delivery(delivered, error, bounced):
                return False
            try:
                self.save(notification)
                return True
            except VersionConflict:
                continue  # a concurrent receipt: read it again
        return False

    def set_contact_points(self, account_id: UUID, email: str, phone: str, zalo_phone: str,
                           opted_out: list[str] | None = None) -> ContactPoints:
        """The account's own addresses per channel, set by its owner alone (a person is in no
        agency's subtree: no administrator redirects their notices)."""
        require_self_or(current_actor(), "set the contact points of this account", account_id)
        email = sending.normalise_address(EMAIL, email, "email") if email else ""
        phone = sending.normalise_address(SMS, phone, "phone") if phone else ""
        zalo_phone = sending.normalise_address(ZALO, zalo_phone, "zalo_phone") if zalo_phone else ""
        opted_out = sorted(set(opted_out or []))
        for channel in opted_out:
            if channel not in EXTERNAL_ORDER:
                raise InvalidArgument.field("opted_out_channels", f"{channel} cannot be opted out of: one of "
                                                                  f"{', '.join(EXTERNAL_ORDER)}")
        contacts = self.find(ContactPoints, account_id)
        if contacts is None:
            contacts = ContactPoints(account_id=account_id, email=email, phone=phone, zalo_phone=zalo_phone,
                                     opted_out=opted_out)
        elif not contacts.change(email, phone, zalo_phone, opted_out):
            return contacts
        self.save(contacts)
        return contacts

    def list_dossier_notifications(self, dossier_id: UUID, limit: int = 500) -> list[NotificationView]:
        """Every notification about a dossier, on every channel, newest first: the proof of
        notice. For administrators and auditors of the dossier's agencies (or above them)."""
        action = "list a dossier's notifications"
        actor = current_actor()
        require_role(actor, action, ADMINISTRATOR, AUDITOR)
        dossier = self.find(DossierReplica, dossier_id)
        if dossier is None:
            raise NotFound("dossier", str(dossier_id))
        require_grant(actor, action, (ADMINISTRATOR, AUDITOR), dossier.agency_id, dossier.handling_agency_id,
                      within=self.agency_tree.is_within)
        return self.recorder.by_state(dossier_id, None, limit)

    # --- operators ----------------------------------------------------------------------------

    def search_notifications(self, recipient: UUID | None, state: str | None, page_size: int = 0,
                             page_token: str = "") -> Page:
        """A page of the notifications by recipient and/or state, newest first, that the calling
        administrator looks after (``_operates``).

        Whether a row is the caller's depends on its dossier's agencies, which the read model's
        rows do not hold, so rows are read in batches and filtered here. A call reads at most
        SEARCH_SCAN_LIMIT rows: a search matching few of many may answer a short (even empty)
        page with a token to go on from where the reading stopped (AIP-158 allows it)."""
        actor = current_actor()
        require_role(actor, "search notifications", ADMINISTRATOR)
        size = page_size or SEARCH_DEFAULT_PAGE_SIZE
        query = PageQuery("search-notifications", recipient, state)
        before = query.position(page_token, int)
        found: list[InboxEntry] = []
        operates: dict[UUID | None, bool] = {}  # per dossier (None: no dossier), read once per call
        scanned = 0
        while scanned < SEARCH_SCAN_LIMIT:
            asked = min(SEARCH_BATCH, SEARCH_SCAN_LIMIT - scanned)
            batch = self.recorder.search(recipient, state, before, asked)
            for entry in batch:
                view = entry.notification
                if view.dossier_id not in operates:
                    operates[view.dossier_id] = self._operates(actor, view)
                if operates[view.dossier_id]:
                    found.append(entry)
                    if len(found) > size:  # one more than the page: there is a next page
                        return Page([e.notification for e in found[:size]], query.token(found[size - 1].position))
            scanned += len(batch)
            if len(batch) < asked:  # the end of the list
                return Page([e.notification for e in found], "")
            before = batch[-1].position
        # Read as much as a call may: the rest from where the reading stopped.
        return Page([e.notification for e in found], query.token(before))

    def resend_notification(self, notification_id: UUID, request_id: UUID) -> NotificationView:
        """The same notice again, as a new notification (its own life cycle; the original keeps
        its record); the same request id resends once."""
        actor = current_actor()
        action = "resend this notification"
        require_role(actor, action, ADMINISTRATOR)
        original = self.load(Notification, notification_id)
        if not self._operates(actor, NotificationView.of(original)):
            raise PermissionDenied(action, "the notification is about a dossier of another agency",
                                   error_reason="AGENCY_SCOPE")
        if original.channel == IN_APP:
            raise InvalidArgument.field("notification_id", "an in-app notification is in the inbox already: "
                                                           "nothing to resend")
        cause = f"resend:{request_id}"
        resent_id = Notification.create_id(cause, original.channel, original.recipient_account_id, original.address)
        earlier = self.find(Notification, resent_id)
        if earlier is not None:
            return NotificationView.of(earlier)
        template = self.load(Template, original.template_id)
        rendered = template.render(original.parameters) if original.parameters else None
        notification = Notification(
            cause=cause, channel=original.channel, recipient_account_id=original.recipient_account_id,
            address=original.address, template_id=original.template_id, template_key=original.template_key,
            template_version=rendered.template_version if rendered else original.template_version,
            subject=rendered.subject if rendered else original.subject,
            body=rendered.body if rendered else original.body, dossier_id=original.dossier_id, state=QUEUED,
            sent_by=actor.subject, parameters=dict(original.parameters),
        )
        try:
            self.save(notification)
        except VersionConflict:
            return NotificationView.of(self.load(Notification, resent_id))  # a concurrent retry won
        return NotificationView.of(notification)

    def provider_health(self, window_minutes: int = 60) -> list[dict[str, Any]]:
        """Each channel's record over the last ``window_minutes``, from the delivery life cycle."""
        require_role(current_actor(), "read the providers' health", ADMINISTRATOR)
        return self.recorder.provider_health(datetime.now(UTC) - timedelta(minutes=window_minutes or 60))

    def _operates(self, actor: Actor, view: NotificationView) -> bool:
        """Whether an administrator looks after the notification: one about a dossier of their
        agencies' subtrees; one about no dossier (account notices, messages sent to an address)
        with a grant at the top of the agency tree."""
        if view.dossier_id is None:
            return any(self.agency_tree.parent_of(agency) == "" for agency in actor.agencies_for(ADMINISTRATOR))
        dossier = self.find(DossierReplica, view.dossier_id)
        if dossier is None:
            return False
        return any(holds(actor, (ADMINISTRATOR,), agency, within=self.agency_tree.is_within)
                   for agency in (dossier.agency_id, dossier.handling_agency_id))

    def get_notification(self, notification_id: UUID) -> NotificationView:
        """The notification, for its recipient and auditors."""
        view = NotificationView.of(self.load(Notification, notification_id))
        _own_inbox(view.recipient_account_id, "read this notification", *INBOX_READERS)
        return view

    def mark_read(self, notification_id: UUID) -> NotificationView:
        """Marked read by its recipient only."""
        notification = self.load(Notification, notification_id)
        _own_inbox(notification.recipient_account_id, "mark this notification read")
        if notification.mark_read(datetime.now(UTC)):
            self.save(notification)
        return NotificationView.of(notification)

    def list_notifications(
        self, recipient: UUID, channel: str | None, page_size: int = 0, page_token: str = ""
    ) -> Page:
        """A page of a recipient's notifications, newest first (from the inbox read model), for
        the recipient and auditors."""
        _own_inbox(recipient, "list these notifications", *INBOX_READERS)
        if channel is not None:
            check_channel(channel)
        size = page_size or DEFAULT_PAGE_SIZE
        query = PageQuery("notifications", recipient, channel)
        before = query.position(page_token, int)
        entries = self.recorder.inbox_page(recipient, channel, before, size + 1)
        more = len(entries) > size
        entries = entries[:size]
        token = query.token(entries[-1].position) if more else ""
        return Page([e.notification for e in entries], token)

    def check_inbox_follower(self, recipient: UUID) -> None:
        """PERMISSION_DENIED unless the caller may follow ``recipient``'s inbox as it fills (its
        owner and auditors)."""
        _own_inbox(recipient, "follow this inbox", *INBOX_READERS)

    def unread_in_app(self, recipient: UUID, up_to: int, limit: int) -> list[InboxEntry]:
        return self.recorder.unread_in_app(recipient, up_to, limit)

    def in_app_after(self, recipient: UUID, after: int, up_to: int, limit: int) -> list[InboxEntry]:
        return self.recorder.latest_in_app_after(recipient, after, up_to, limit)

    # --- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _default_template(key: str, channel: str) -> Template:
        (text,) = [t for t in DEFAULT_TEMPLATES if (t.key, t.channel) == (key, channel)]
        return Template.write(text.key, text.channel, text.subject, text.body)
