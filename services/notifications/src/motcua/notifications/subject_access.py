"""A person's right of access (Decree 13/2023/NĐ-CP) to what this service holds about them:
their contact points and every notification to them, unsealed (or "[đã xóa]" once erased).

The person is their account, and/or the applicant without an account of the dossiers the
dossiers service names. Who may ask follows the operators' rule (``_operates``) for the
data-protection role: the person themself for their account's data; a data-protection officer
granted for the agencies of the dossiers the notices are about, and at the top of the agency
tree for an account's contact points and notices (they belong to no agency).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from motcua.kernel.access import holds, is_self, require_role
from motcua.kernel.context import current_actor
from motcua.kernel.errors import InvalidArgument, PermissionDenied
from motcua.kernel.roles import DATA_PROTECTION_OFFICER

from .domain import ContactPoints, DossierReplica, Notification

ACTION = "export a person's notifications"
# A person's export lists at most this many notifications per account or dossier, newest first.
MAX_EXPORTED = 2000


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _authorize(app: Any, account_id: UUID | None, dossier_ids: list[UUID]) -> None:
    actor = current_actor()
    if account_id is not None and not dossier_ids and is_self(actor, account_id):
        return
    require_role(actor, ACTION, DATA_PROTECTION_OFFICER)
    at_top = any(app.agency_tree.parent_of(agency) == "" for agency in actor.agencies_for(DATA_PROTECTION_OFFICER))
    if account_id is not None and not at_top:
        raise PermissionDenied(ACTION, "an account's notices need a data-protection officer granted at the top of "
                                       "the agency tree", error_reason="AGENCY_SCOPE")
    for dossier_id in dossier_ids:
        dossier = app.find(DossierReplica, dossier_id)
        if dossier is None and not app.recorder.by_state(dossier_id, None, 1):
            continue  # nothing held about it here: nothing to refuse
        covered = at_top if dossier is None else any(
            holds(actor, (DATA_PROTECTION_OFFICER,), agency, within=app.agency_tree.is_within)
            for agency in (dossier.agency_id, dossier.handling_agency_id))
        if not covered:
            raise PermissionDenied(ACTION, "a notice about a dossier of another agency", error_reason="AGENCY_SCOPE")


def _record(notification: Notification) -> dict[str, Any]:
    return {
        "notification_id": str(notification.id),
        "channel": notification.channel,
        "address": notification.address,
        "subject": notification.subject,
        "body": notification.body,
        "dossier_id": str(notification.dossier_id) if notification.dossier_id else None,
        "state": notification.state,
        "attempts": notification.attempt_count,
        "provider": notification.provider,
        "last_error": notification.last_error,
        "created_at": _iso(notification.created_on),
        "read_at": _iso(notification.read_time),
    }


def export(app: Any, account_id: UUID | None, dossier_ids: Iterable[UUID]) -> dict[str, Any]:
    """The document for ``ExportRecipientData``: contact points and notifications, oldest first."""
    dossier_ids = list(dict.fromkeys(dossier_ids))
    if account_id is None and not dossier_ids:
        raise InvalidArgument.field("account_id", "name the person: their account, or the dossiers of which "
                                                  "they are the applicant without an account (dossier_ids)")
    _authorize(app, account_id, dossier_ids)
    ids: list[UUID] = []
    if account_id is not None:
        found = app.recorder.search(account_id, None, None, MAX_EXPORTED)
        ids += [entry.notification.notification_id for entry in found]
    for dossier_id in dossier_ids:
        ids += [view.notification_id for view in app.recorder.by_state(dossier_id, None, MAX_EXPORTED)
                if view.recipient_account_id is None]
    notifications = [n for n in (app.find(Notification, i) for i in dict.fromkeys(ids)) if n is not None]
    notifications.sort(key=lambda n: n.created_on)
    contacts = app.find(ContactPoints, account_id) if account_id is not None else None
    return {
        "contact_points": None if contacts is None else {
            "email": contacts.email, "phone": contacts.phone, "zalo_phone": contacts.zalo_phone,
            "opted_out": list(contacts.opted_out)},
        "notifications": [_record(n) for n in notifications],
    }
