"""The domain's words for kinds, channels, delivery methods and states, and their proto enums.

Shared by the API (requests, responses) and the translator (integration events).
"""

from __future__ import annotations

from motcua.dossiers.v1 import dossier_pb2

from motcua.dossiers.domain import values as domain, lifecycle

APPLICANT_KINDS = {
    domain.CITIZEN: dossier_pb2.APPLICANT_KIND_CITIZEN,
    domain.BUSINESS: dossier_pb2.APPLICANT_KIND_BUSINESS,
}
CHANNELS = {
    domain.ONLINE: dossier_pb2.SUBMISSION_CHANNEL_ONLINE,
    domain.DESK: dossier_pb2.SUBMISSION_CHANNEL_DESK,
    domain.POSTAL: dossier_pb2.SUBMISSION_CHANNEL_POSTAL,
}
DELIVERY_METHODS = {
    domain.ONLINE: dossier_pb2.RESULT_DELIVERY_METHOD_ONLINE,
    domain.DESK: dossier_pb2.RESULT_DELIVERY_METHOD_DESK,
    domain.POSTAL: dossier_pb2.RESULT_DELIVERY_METHOD_POSTAL,
}
STATES = {
    domain.DRAFT: dossier_pb2.DOSSIER_STATE_DRAFT,
    domain.SUBMITTED: dossier_pb2.DOSSIER_STATE_SUBMITTED,
    domain.RECEIVED: dossier_pb2.DOSSIER_STATE_RECEIVED,
    domain.IN_PROCESS: dossier_pb2.DOSSIER_STATE_IN_PROCESS,
    domain.AWAITING_SUPPLEMENT: dossier_pb2.DOSSIER_STATE_AWAITING_SUPPLEMENT,
    domain.RESULT_READY: dossier_pb2.DOSSIER_STATE_RESULT_READY,
    domain.RETURNED: dossier_pb2.DOSSIER_STATE_RETURNED,
    domain.REFUSED: dossier_pb2.DOSSIER_STATE_REFUSED,
    domain.WITHDRAWN: dossier_pb2.DOSSIER_STATE_WITHDRAWN,
}
OUTCOMES = {
    lifecycle.EARLY: dossier_pb2.DOSSIER_OUTCOME_EARLY,
    lifecycle.ON_TIME: dossier_pb2.DOSSIER_OUTCOME_ON_TIME,
    lifecycle.LATE: dossier_pb2.DOSSIER_OUTCOME_LATE,
}


def _inverse(mapping: dict[str, int]) -> dict[int, str]:
    return {number: word for word, number in mapping.items()}


APPLICANT_KIND_OF = _inverse(APPLICANT_KINDS)
CHANNEL_OF = _inverse(CHANNELS)
DELIVERY_METHOD_OF = {**_inverse(DELIVERY_METHODS), dossier_pb2.RESULT_DELIVERY_METHOD_UNSPECIFIED: domain.DESK}
