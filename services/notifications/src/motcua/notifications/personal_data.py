"""Recipients' personal data: which fields of the notifications' events hold it, whose key
seals it (kernel.subject_keys), and how an erasure reaches it.

A recipient with an account is the data subject ``account:<account id>``, the one identity
and the dossiers service use: their contact points (e-mail, phones) and every notification to
them (address, rendered subject and body, template parameters) are sealed under that key. A
dossier's applicant without an account is keyed by the dossier: ``dossier-applicant:<dossier
id>``; the dossiers service's SubjectErased names the dossiers an erasure reached. The channel
adapters get the clear text at send time only, from the unsealed aggregate.

The inbox read model holds each notice's subject and body sealed too (``InboxText``), under the
same subject's key and bound to the notification's id, and opens them as it reads its rows: once
the key is destroyed they read "[đã xóa]", and an erasure also masks the rows themselves.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg.sql import SQL

from motcua.kernel.config import env_flag
from motcua.kernel.subject_keys import (
    MASKED,
    KeyEncryptionKeys,
    KeyLookup,
    PersonalData,
    PersonalField,
    SubjectKeyStore,
    seal,
    subject_key_store,
    unseal,
)

from .domain import ContactPoints, Notification

DEFAULT_KEKS_DIR = Path(".local/run/notifications/secrets/subject-keks")


def account_subject(account_id: UUID | str) -> str:
    return f"account:{account_id}"


def applicant_subject(dossier_id: UUID | str) -> str:
    return f"dossier-applicant:{dossier_id}"


def _the_account(originator_id: Any, _: Mapping[str, Any]) -> str:
    return account_subject(originator_id)


def _the_recipient(originator_id: Any, value: Mapping[str, Any]) -> str:
    if value.get("recipient_account_id"):
        return account_subject(value["recipient_account_id"])
    if value.get("dossier_id"):
        return applicant_subject(value["dossier_id"])
    return f"notification:{originator_id}"


def _a_notice_of_its_own(originator_id: Any, value: Mapping[str, Any]) -> bool:
    """A notice to an address, about no account or dossier, is its own subject, new with it."""
    return not value.get("recipient_account_id") and not value.get("dossier_id")


class InboxText:
    """Seals a notice's subject and body for the inbox read model's row, and opens them."""

    def __init__(self, keys: KeyLookup) -> None:
        self._keys = keys

    @staticmethod
    def _context(notification_id: Any) -> str:
        return f"inbox:{notification_id}"

    def seal(self, notification_id: Any, recipient: Mapping[str, Any], subject: str,
             body: str) -> tuple[str, str, bool]:
        """(subject, body, sealed) for the row: sealed together into the body column; masked
        when the recipient's key is gone (a rebuild after an erasure)."""
        if subject == MASKED and body == MASKED:
            return MASKED, MASKED, False
        key = self._keys.key_for_reading(_the_recipient(notification_id, recipient))
        if key is None:
            return MASKED, MASKED, False
        return "", seal(key, {"subject": subject, "body": body}, self._context(notification_id)), True

    def open(self, row: Mapping[str, Any]) -> tuple[str, str]:
        key = self._keys.key_for_reading(_the_recipient(row["notification_id"], row))
        if key is None:
            return MASKED, MASKED
        text = unseal(key, row["body"], self._context(row["notification_id"]))
        return text["subject"], text["body"]


CONTACT_FIELDS = ("email", "phone", "zalo_phone")
PERSONAL_FIELDS: Mapping[str, tuple[PersonalField, ...]] = {
    get_topic(ContactPoints.Recorded): (  # type: ignore[attr-defined]
        PersonalField("", CONTACT_FIELDS, subject_of=_the_account),),
    get_topic(ContactPoints.Changed): (  # type: ignore[attr-defined]
        PersonalField("", CONTACT_FIELDS, subject_of=_the_account),),
    get_topic(Notification.Created): (
        PersonalField("", ("address", "subject", "body", "parameters"), subject_of=_the_recipient,
                      masked={"parameters": {}}, new_subject=_a_notice_of_its_own),),
}


def key_encryption_keys(environ: Mapping[str, str] | None = None) -> KeyEncryptionKeys:
    """``MOTCUA_NOTIFICATIONS_SUBJECT_KEKS_DIR`` (one ``<id>.key`` each, from a Secret),
    ``MOTCUA_NOTIFICATIONS_SUBJECT_KEK_ID`` (the one wrapping new keys; default the last by
    name); ``MOTCUA_NOTIFICATIONS_DEV_KEYS`` (default true) generates a first one."""
    env = os.environ if environ is None else environ
    directory = Path(env.get("MOTCUA_NOTIFICATIONS_SUBJECT_KEKS_DIR") or DEFAULT_KEKS_DIR)
    return KeyEncryptionKeys.from_directory(directory, env.get("MOTCUA_NOTIFICATIONS_SUBJECT_KEK_ID", "").strip(),
                                            env_flag(env, "MOTCUA_NOTIFICATIONS_DEV_KEYS", True))


def seal_personal_data(app: Any, keks: KeyEncryptionKeys) -> SubjectKeyStore:
    """Seals the application's personal fields from now on (before it writes any)."""
    # A notice to a new address is a new subject on every call: its key goes with its events.
    store = subject_key_store(app, keks)
    app.mapper.personal = PersonalData(PERSONAL_FIELDS, store)
    app.subject_keys = store
    app.recorder.inbox_text = InboxText(store)
    return store


def erase(app: Any, account_id: UUID | None, dossier_ids: Iterable[UUID], erased_by: str, erasure: str) -> None:
    """Destroys the keys of the recipient's data and masks their inbox rows: as an account,
    and as the applicant without an account of each of ``dossier_ids``."""
    store: SubjectKeyStore = app.subject_keys
    dossier_ids = list(dossier_ids)
    if account_id is not None:
        store.destroy(account_subject(account_id), erased_by, f"erasure {erasure}")
    for dossier_id in dossier_ids:
        store.destroy(applicant_subject(dossier_id), erased_by, f"erasure {erasure}")
    with app.recorder.datastore.transaction(commit=True) as curs:
        if account_id is not None:
            curs.execute(SQL("UPDATE {t} SET subject = %s, body = %s, text_sealed = false "
                                 "WHERE recipient_account_id = %s").format(
                t=app.recorder._inbox), (MASKED, MASKED, account_id))
        if dossier_ids:
            curs.execute(SQL("UPDATE {t} SET subject = %s, body = %s, text_sealed = false "
                             "WHERE recipient_account_id IS NULL AND dossier_id = ANY(%s)").format(
                                 t=app.recorder._inbox),
                         (MASKED, MASKED, dossier_ids))
