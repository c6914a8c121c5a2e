"""What the API shows of templates and notifications (plain values, no protos)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from .domain import Notification, Template


@dataclass(frozen=True)
class TemplateView:
    template_id: UUID
    key: str
    channel: str
    subject: str
    body: str
    create_time: datetime  # when this version was written
    version: int

    @classmethod
    def of(cls, template: Template) -> TemplateView:
        return cls(
            template_id=template.id,
            key=template.key,
            channel=template.channel,
            subject=template.subject,
            body=template.body,
            create_time=template.modified_on,
            version=template.version,
        )


@dataclass(frozen=True)
class NotificationView:
    notification_id: UUID
    recipient_account_id: UUID | None
    channel: str
    template_id: UUID
    template_key: str
    template_version: int
    subject: str
    body: str
    dossier_id: UUID | None
    state: str
    attempt_count: int
    create_time: datetime
    read_time: datetime | None
    version: int
    sent_by: str = ""
    provider: str = ""
    provider_id: str = ""
    last_error: str = ""

    @classmethod
    def of(cls, notification: Notification) -> NotificationView:
        return cls(
            notification_id=notification.id,
            recipient_account_id=notification.recipient_account_id,
            channel=notification.channel,
            template_id=notification.template_id,
            template_key=notification.template_key,
            template_version=notification.template_version,
            subject=notification.subject,
            body=notification.body,
            dossier_id=notification.dossier_id,
            state=notification.state,
            attempt_count=notification.attempt_count,
            create_time=notification.created_on,
            read_time=notification.read_time,
            version=notification.version,
            sent_by=notification.sent_by,
            provider=notification.provider,
            provider_id=notification.provider_id,
            last_error=notification.last_error,
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> NotificationView:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class InboxEntry:
    """A notification in the read model, with its position in the service's log."""

    position: int
    notification: NotificationView


@dataclass(frozen=True)
class Page:
    notifications: list[NotificationView]
    next_page_token: str
