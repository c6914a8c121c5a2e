"""Policies: how the notifications service reacts to other services' integration events."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from uuid import UUID

from motcua.common.v1.envelope_pb2 import EventEnvelope
from motcua.dossiers.v1 import dossier_pb2, events_pb2 as dossiers_events
from motcua.identity.v1 import events_pb2 as identity_events
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.config import events_topic
from motcua.kernel.consumer import PoisonMessage, Subscription, TrackedConsumer
from motcua.signing.v1 import events_pb2 as signing_events

from .application import DossierReceipt, NotificationsApplication
from .domain import (
    APOLOGY_ISSUED,
    DOSSIER_ASSIGNED,
    DOSSIER_COMING_DUE,
    DOSSIER_OVERDUE,
    DOSSIER_REFUSED,
    DOSSIER_RETURNED,
    FEE_DUE,
    NEW_SIGN_IN,
    PASSWORD_CHANGED,
    RESULT_READY,
    SECOND_FACTOR_CHANGED,
    SIGNATURE_CANCELLED,
    SIGNATURE_CONFIRMED,
    SIGNATURE_EXPIRED,
    SIGNATURE_REFUSED,
    SIGNATURE_REQUESTED,
    SUPPLEMENT_REQUESTED,
    format_amount,
    format_date,
    format_time,
)


def _uuid(value: str, field: str, event: str = "DossierReceived") -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise PoisonMessage(f"{event}.{field} is not a UUID: {value!r}") from None


def _account(value: str) -> UUID | None:
    """The applicant's account, when the dossier names one that can be notified."""
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def _ids(*values: str) -> list[UUID]:
    """The values that are UUIDs (what a policy will read; a bad one is its policy's to refuse)."""
    return [uuid for uuid in map(_account, values) if uuid is not None]


# Events that carry the dossier's reference (its agencies now, its applicant): each keeps
# this service's copy of the dossier current, e.g. after a transfer to another agency.
_WITH_DOSSIER_REF = (
    dossiers_events.DossierSupplementRequested,
    dossiers_events.DossierApologyIssued,
    dossiers_events.DossierResultReady,
    dossiers_events.DossierReturned,
    dossiers_events.DossierRefused,
    dossiers_events.DossierWithdrawn,
    dossiers_events.DossierAssigned,
    dossiers_events.DossierCameDue,
    dossiers_events.DossierOverdue,
)


_COLLECTION = {
    dossier_pb2.RESULT_DELIVERY_METHOD_UNSPECIFIED: "tại Bộ phận Một cửa",
    dossier_pb2.RESULT_DELIVERY_METHOD_DESK: "tại Bộ phận Một cửa",
    dossier_pb2.RESULT_DELIVERY_METHOD_ONLINE: "trực tuyến trên Cổng Dịch vụ công",
    dossier_pb2.RESULT_DELIVERY_METHOD_POSTAL: "qua dịch vụ bưu chính công ích",
}


def _date(stamp, zone: tzinfo) -> str:
    return format_date(stamp.ToDatetime(tzinfo=UTC), zone) if stamp.seconds or stamp.nanos else ""


def occasion_of(event, zone: tzinfo) -> tuple[str, UUID | None, dict[str, str]] | None:
    """Who hears of a dossier event and with which parameters: (occasion key, account,
    parameters besides the dossier's code); None for events nobody is notified of. Events
    name accounts only: addresses come from this service's contact points."""
    applicant = _account(event.dossier.applicant_account_id)
    match event:
        case dossiers_events.DossierSupplementRequested():
            items = "; ".join(f"{item.document}: {item.problem}" for item in event.items)
            return SUPPLEMENT_REQUESTED.key, applicant, {
                "items": items, "item_count": str(len(event.items)), "request_date": _date(event.request_time, zone)}
        case dossiers_events.DossierRefused():
            return DOSSIER_REFUSED.key, applicant, {"reason": event.reason,
                                                    "refuse_date": _date(event.refuse_time, zone)}
        case dossiers_events.DossierResultReady():
            return RESULT_READY.key, applicant, {"collection": _COLLECTION.get(event.result_delivery, ""),
                                                 "ready_date": _date(event.ready_time, zone)}
        case dossiers_events.DossierApologyIssued():
            return APOLOGY_ISSUED.key, applicant, {
                "reason": event.reason, "new_appointed_date": _date(event.new_appointed_return_time, zone),
                "previous_appointed_date": _date(event.previous_appointed_return_time, zone)}
        case dossiers_events.DossierReturned():
            return DOSSIER_RETURNED.key, applicant, {"return_date": _date(event.return_time, zone)}
        case dossiers_events.DossierAssigned():
            return DOSSIER_ASSIGNED.key, _account(event.assignee), {"assign_date": _date(event.assign_time, zone)}
        case dossiers_events.DossierCameDue():
            # To the officer holding it (the replica's assignee, from DossierAssigned); the
            # applicant is not told of internal deadlines.
            return DOSSIER_COMING_DUE.key, None, {"due_date": _date(event.due_time, zone)}
        case dossiers_events.DossierOverdue():
            return DOSSIER_OVERDUE.key, None, {"due_date": _date(event.due_time, zone)}
    return None


def _unique(aggregates: list) -> list:
    """Each aggregate once (a default template written for the first of several recipients)."""
    unique: dict = {}
    for aggregate in aggregates:
        unique.setdefault(aggregate.id, aggregate)
    return list(unique.values())


def dossier_events_consumer(center: NotificationsApplication) -> TrackedConsumer:
    def on_dossier_received(event: dossiers_events.DossierReceived, envelope: EventEnvelope) -> list:
        if not event.HasField("appointed_return_time"):
            raise PoisonMessage("DossierReceived without appointed_return_time")
        receipt = DossierReceipt(
            event_id=envelope.event_id or f"{envelope.source}:{envelope.position}",
            dossier_id=_uuid(event.dossier_id, "dossier_id"),
            code=event.code,
            agency_id=event.agency_id,
            applicant_account_id=_uuid(event.applicant_account_id, "applicant_account_id")
            if event.applicant_account_id
            else None,
            receive_time=event.receive_time.ToDatetime(tzinfo=UTC) if event.HasField("receive_time") else None,
            appointed_return_time=event.appointed_return_time.ToDatetime(tzinfo=UTC),
        )
        copy = center.replicate_dossier(
            receipt.dossier_id, event.code, event.agency_id, "", receipt.applicant_account_id
        )
        fee: list = []
        if event.fee_due_vnd > 0:
            # A notice of its own (its own cause: the receipt's notices have the event's).
            fee = center.notify_occasion(f"{receipt.event_id}/fee-due", FEE_DUE.key, receipt.applicant_account_id,
                                         {"dossier_code": event.code, "fee_amount": format_amount(event.fee_due_vnd)},
                                         receipt.dossier_id)
        return _unique([*copy, *center.notify_dossier_received(receipt), *fee])

    def on_dossier_submitted(event: dossiers_events.DossierSubmitted, envelope: EventEnvelope) -> list:
        name = "DossierSubmitted"
        return center.replicate_dossier(_uuid(event.dossier_id, "dossier_id", name), event.code, event.agency_id, "",
                                        _account(event.applicant_account_id))

    def on_dossier_ref(event, envelope: EventEnvelope) -> list:
        name, ref = type(event).__name__, event.dossier
        dossier_id = _uuid(ref.dossier_id, "dossier.dossier_id", name)
        assignee = _account(event.assignee) if isinstance(event, dossiers_events.DossierAssigned) else None
        copy = center.replicate_dossier(dossier_id, ref.code, ref.agency_id, ref.handling_agency_id,
                                        _account(ref.applicant_account_id), assignee=assignee)
        occasion = occasion_of(event, center.zone)
        if occasion is None:
            return copy
        key, recipient, parameters = occasion
        recipients = [recipient]
        if key in (DOSSIER_COMING_DUE.key, DOSSIER_OVERDUE.key):
            recipients = [center.assignee_of(dossier_id)]
        if key == DOSSIER_OVERDUE.key:
            # The head of the handling agency hears of it too, from this service's copy of
            # identity's leader grants (no call to identity on the way).
            heads = center.heads_of(ref.handling_agency_id or ref.agency_id)
            recipients += [head for head in heads if head not in recipients]
        event_id = envelope.event_id or f"{envelope.source}:{envelope.position}"
        notices = [notice for each in recipients
                   for notice in center.notify_occasion(event_id, key, each, {"dossier_code": ref.code, **parameters},
                                                        dossier_id)]
        return [*copy, *_unique(notices)]

    def received_reads(event: dossiers_events.DossierReceived, envelope: EventEnvelope) -> list[UUID]:
        # This service's copy of the dossier, and the applicant's contact points.
        return _ids(event.dossier_id, event.applicant_account_id)

    def ref_reads(event, envelope: EventEnvelope) -> list[UUID]:
        ref = event.dossier
        return _ids(ref.dossier_id, ref.applicant_account_id)

    return TrackedConsumer(
        center,
        name="dossier-events",
        topics=[events_topic("dossiers")],
        subscriptions=[
            Subscription(dossiers_events.DossierReceived, on_dossier_received, reads=received_reads),
            Subscription(dossiers_events.DossierSubmitted, on_dossier_submitted),
            *(Subscription(event_type, on_dossier_ref, reads=ref_reads) for event_type in _WITH_DOSSIER_REF),
        ],
    )


def account_occasion_of(event, envelope: EventEnvelope, zone: tzinfo) -> tuple[str, dict[str, str]]:
    """The occasion of one of identity's account events and its parameters (the moment is the
    event's own, in local time)."""
    match event:
        case identity_events.AccountSignedInFromNewAddress():
            stamp = event.sign_in_time if event.HasField("sign_in_time") else envelope.occurred_at
            signed_in = stamp.ToDatetime(tzinfo=UTC)
            return NEW_SIGN_IN.key, {"sign_in_date": format_date(signed_in, zone),
                                     "sign_in_time": format_time(signed_in, zone)}
    changed = envelope.occurred_at.ToDatetime(tzinfo=UTC)
    moment = {"change_date": format_date(changed, zone), "change_time": format_time(changed, zone)}
    match event:
        case identity_events.AccountPasswordChanged():
            return PASSWORD_CHANGED.key, {**moment, "changed_by": "chính Ông/Bà" if event.by_owner else "cán bộ"}
        case identity_events.AccountSecondFactorChanged():
            return SECOND_FACTOR_CHANGED.key, {**moment, "change": "được bật" if event.enabled else "bị tắt"}
    raise PoisonMessage(f"{type(event).__name__} is not an account event")


def account_events_consumer(center: NotificationsApplication) -> TrackedConsumer:
    """Account holders hear of their password and second factor changing and of logins from new
    addresses, from identity's events (account ids only; the addresses are this service's); the
    agencies' heads are kept from its leader grants."""

    def on_role(event, envelope: EventEnvelope) -> list:
        if event.role != Role.ROLE_LEADER:
            return []
        account = _uuid(event.account_id, "account_id", type(event).__name__)
        return center.record_leader(event.agency_id, account, isinstance(event, identity_events.RoleGranted))

    def on_account_event(event, envelope: EventEnvelope) -> list:
        account = _uuid(event.account_id, "account_id", type(event).__name__)
        key, parameters = account_occasion_of(event, envelope, center.zone)
        event_id = envelope.event_id or f"{envelope.source}:{envelope.position}"
        return center.notify_occasion(event_id, key, account, parameters, None)

    return TrackedConsumer(
        center,
        name="account-events",
        topics=[events_topic("identity")],
        subscriptions=[
            *(Subscription(event_type, on_account_event)
              for event_type in (identity_events.AccountPasswordChanged, identity_events.AccountSecondFactorChanged,
                                 identity_events.AccountSignedInFromNewAddress)),
            *(Subscription(event_type, on_role) for event_type in (identity_events.RoleGranted,
                                                                   identity_events.RoleRevoked)),
        ],
    )


def signature_request_parameters(event: signing_events.SignatureRequested, zone: tzinfo,
                                 now: datetime) -> dict[str, str] | None:
    """The officer's notice of a signature request: the document's title and when the request
    expires, in local time; None once it has expired (heard of late, e.g. the requests made
    before the signing service published them: nothing is left for the officer to do)."""
    if not event.HasField("expire_time"):
        raise PoisonMessage("SignatureRequested without expire_time")
    expires = event.expire_time.ToDatetime(tzinfo=UTC)
    if expires <= now:
        return None
    return {"document_name": event.document_name, "expire_date": format_date(expires, zone),
            "expire_time": format_time(expires, zone)}


def signing_events_consumer(center: NotificationsApplication) -> TrackedConsumer:
    """Officers hear of a document waiting for their own signature, and of its request withdrawn;
    the officer who asked hears how it ended (signed, refused, expired), from the signing
    service's events (account ids only; the addresses are this service's). Each notice's ids
    follow from the event's id: a redelivered event makes the same ones, never a second send."""

    def document(event, dossier_id: UUID | None) -> dict[str, str]:
        # The events name the dossier by id; its code is what officers know it by, from this
        # service's copy of the dossier (none yet: the notice names the document alone).
        code = center.dossier_code(dossier_id) if dossier_id is not None else ""
        return {"document_name": event.document_name, "dossier_code": code,
                "of_dossier": f", hồ sơ {code}" if code else ""}

    def answered(envelope: EventEnvelope) -> dict[str, str]:
        moment = envelope.occurred_at.ToDatetime(tzinfo=UTC)
        return {"answer_date": format_date(moment, center.zone), "answer_time": format_time(moment, center.zone)}

    def event_id(envelope: EventEnvelope) -> str:
        return envelope.event_id or f"{envelope.source}:{envelope.position}"

    def on_signature_requested(event: signing_events.SignatureRequested, envelope: EventEnvelope) -> list:
        officer = _uuid(event.signer_account_id, "signer_account_id", "SignatureRequested")
        dossier_id = _account(event.dossier_id)  # a UUID when the request is for a dossier
        parameters = signature_request_parameters(event, center.zone, datetime.now(UTC))
        if parameters is None:
            return []
        return center.notify_occasion(event_id(envelope), SIGNATURE_REQUESTED.key, officer,
                                      {**parameters, **document(event, dossier_id)}, dossier_id)

    def on_document_signed(event: signing_events.DocumentSigned, envelope: EventEnvelope) -> list:
        dossier_id = _account(event.dossier_id)
        # Events published before they named the requester tell nobody (recipient None).
        return center.notify_occasion(event_id(envelope), SIGNATURE_CONFIRMED.key,
                                      _account(event.requester_account_id),
                                      {**document(event, dossier_id), **answered(envelope)}, dossier_id)

    def on_request_failed(event: signing_events.SignatureRequestFailed, envelope: EventEnvelope) -> list:
        dossier_id = _account(event.dossier_id)
        parameters = document(event, dossier_id)
        if event.failure == signing_events.SIGNATURE_REQUEST_FAILURE_EXPIRED:
            expired = envelope.occurred_at.ToDatetime(tzinfo=UTC)
            key = SIGNATURE_EXPIRED.key
            parameters |= {"expire_date": format_date(expired, center.zone),
                           "expire_time": format_time(expired, center.zone)}
        else:
            key = SIGNATURE_REFUSED.key
            parameters |= {**answered(envelope), "reason": event.failure_reason}
        return center.notify_occasion(event_id(envelope), key, _account(event.requester_account_id), parameters,
                                      dossier_id)

    def on_request_cancelled(event: signing_events.SignatureRequestCancelled, envelope: EventEnvelope) -> list:
        dossier_id = _account(event.dossier_id)
        return center.notify_occasion(event_id(envelope), SIGNATURE_CANCELLED.key, _account(event.signer_account_id),
                                      {**document(event, dossier_id), **answered(envelope), "reason": event.reason},
                                      dossier_id)

    return TrackedConsumer(
        center,
        name="signing-events",
        topics=[events_topic("signing")],
        subscriptions=[Subscription(signing_events.SignatureRequested, on_signature_requested),
                       Subscription(signing_events.DocumentSigned, on_document_signed),
                       Subscription(signing_events.SignatureRequestFailed, on_request_failed),
                       Subscription(signing_events.SignatureRequestCancelled, on_request_cancelled)],
    )
