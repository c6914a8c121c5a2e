"""Who may send a notification through the API, to whom, with what. Pure: the caller's
actor, the template and what this service knows of the dossier; no I/O.

A notification reaches a citizen under an official template, so what an officer may put
in one is narrow:

- Administrators send any template to anybody (announcements, messages to people
  without an account), with checked parameters; about a dossier, only one of their grants'
  agency subtrees.
- Officers notify only about a dossier of their agency's subtree (receiving or handling), only its
  applicant's account, never with a template of an occasion the service notifies of itself
  (those texts say the dossier was received, for instance: only the event says so), and the
  dossier's own facts in the text (its code) come from the dossier, not from the officer.
- Every send: parameters are the template's placeholders only, each value one line of
  bounded length, the rendered text within the template's bounds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from motcua.kernel.access import ADMINISTRATOR, OFFICERS, Within, require_grant, require_role
from motcua.kernel.context import Actor
from motcua.kernel.errors import FieldViolation, InvalidArgument, PermissionDenied

from .domain import (
    EMAIL,
    MAX_BODY_LENGTH,
    MAX_SUBJECT_LENGTH,
    OCCASIONS,
    SMS,
    ZALO,
    DossierReplica,
    Rendered,
    placeholders,
)
from .phones import normalise_phone

ACTION = "send a notification"

# A value fills a placeholder inside a sentence: a name, a date, a place; not a letter of its own.
MAX_PARAMETER_LENGTH = 500

# Parameters filled from the dossier a notification is about, never by the caller.
DOSSIER_FACTS = ("dossier_code",)


def check_sender(actor: Actor, template_key: str, dossier_id_given: bool, dossier: DossierReplica | None,
                 recipient_account_id: object, address: str, within: Within | None = None) -> None:
    """PERMISSION_DENIED unless ``actor`` may send this template to this recipient (see the
    module's rules). ``dossier`` is this service's copy of the dossier named, if it has one;
    ``within`` answers from the agency tree whether an agency is below a grant's."""
    require_role(actor, ACTION, *OFFICERS, ADMINISTRATOR)
    if actor.has_role(ADMINISTRATOR):
        if dossier is not None:
            require_grant(actor, ACTION, (ADMINISTRATOR,), dossier.agency_id, dossier.handling_agency_id, within=within)
        return
    if template_key in OCCASIONS:
        raise PermissionDenied(ACTION, f"{template_key} notifications are sent by the service when the event happens",
                               error_reason="SERVICE_TEMPLATE")
    if not dossier_id_given:
        raise PermissionDenied(ACTION, "officers notify the applicant of a dossier of their agency; naming the dossier",
                               error_reason="DOSSIER_REQUIRED")
    if dossier is None:
        return  # the caller reports NOT_FOUND: this service has not heard of the dossier (yet)
    require_grant(actor, ACTION, OFFICERS, dossier.agency_id, dossier.handling_agency_id, within=within)
    if address or dossier.applicant_account_id is None or recipient_account_id != dossier.applicant_account_id:
        raise PermissionDenied(ACTION, "officers notify only the account of the dossier's applicant",
                               error_reason="NOT_APPLICANT")


def parameters_for(actor: Actor, dossier: DossierReplica | None, parameters: Mapping[str, str], subject: str,
                   body: str) -> dict[str, str]:
    """The parameters with the dossier's facts the template uses filled in for officers (who
    may not give other values for them); administrators' values stand."""
    filled = dict(parameters)
    if dossier is None or actor.has_role(ADMINISTRATOR):
        return filled
    used = set(placeholders(subject)) | set(placeholders(body))
    facts = {"dossier_code": dossier.code}
    for name in DOSSIER_FACTS:
        if name in filled and filled[name] != facts[name]:
            raise InvalidArgument.field(f"parameters[{name}]", "is filled from the dossier; leave it out")
        if name in used:
            filled[name] = facts[name]
    return filled


def check_parameters(template_key: str, subject: str, body: str, parameters: Mapping[str, str]) -> None:
    """INVALID_ARGUMENT naming every parameter the template does not use and every value
    that is not one bounded line of text."""
    known = set(placeholders(subject)) | set(placeholders(body))
    violations: list[FieldViolation] = []
    for name, value in parameters.items():
        field = f"parameters[{name}]"
        if name not in known:
            violations.append(FieldViolation(field, f"{{{{{name}}}}} is not a placeholder of template {template_key}",
                                             "UNKNOWN_PLACEHOLDER"))
        elif len(value) > MAX_PARAMETER_LENGTH:
            violations.append(FieldViolation(field, f"must be at most {MAX_PARAMETER_LENGTH} characters"))
        elif any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
            violations.append(FieldViolation(field, "must be one line of text, without control or format characters"))
    if violations:
        raise InvalidArgument(*violations)


def check_rendered(rendered: Rendered) -> None:
    """INVALID_ARGUMENT when the parameters make the text longer than a template may be."""
    violations = []
    if len(rendered.subject) > MAX_SUBJECT_LENGTH:
        violations.append(FieldViolation("parameters", f"make the subject {len(rendered.subject)} characters long, "
                                                       f"more than {MAX_SUBJECT_LENGTH}"))
    if len(rendered.body) > MAX_BODY_LENGTH:
        violations.append(FieldViolation("parameters", f"make the body {len(rendered.body)} characters long, "
                                                       f"more than {MAX_BODY_LENGTH}"))
    if violations:
        raise InvalidArgument(*violations)


# One address, as RFC 5321 allows it in practice: a local part, @, a domain with a dot; no
# spaces, no display name, no second address.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def normalise_address(channel: str, address: str, field: str = "address") -> str:
    """An address as its channel's provider takes it: phone numbers in E.164 for SMS and Zalo,
    e-mail addresses checked; INVALID_ARGUMENT naming ``field`` otherwise."""
    if not address:
        return address
    if channel in (SMS, ZALO):
        return normalise_phone(address, field)
    if channel == EMAIL:
        address = address.strip()
        if len(address) > 254 or not _EMAIL.match(address):
            raise InvalidArgument.field(field, f"{address!r} is not an e-mail address (one address, as name@domain.vn)",
                                        "INVALID_EMAIL_ADDRESS")
    return address
