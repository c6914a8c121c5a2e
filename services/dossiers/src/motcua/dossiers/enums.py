"""The domain's words for kinds, channels, delivery methods and states, and their proto enums.

Shared by the API (requests, responses) and the translator (integration events).
"""

from __future__ import annotations

from motcua.dossiers.v1 import dossier_pb2

from . import domain

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
    domain.SUBMITTED: dossier_pb2.DOSSIER_STATE_SUBMITTED,
    domain.RECEIVED: dossier_pb2.DOSSIER_STATE_RECEIVED,
}


def _inverse(mapping: dict[str, int]) -> dict[int, str]:
    return {number: word for word, number in mapping.items()}


APPLICANT_KIND_OF = _inverse(APPLICANT_KINDS)
CHANNEL_OF = _inverse(CHANNELS)
DELIVERY_METHOD_OF = {**_inverse(DELIVERY_METHODS), dossier_pb2.RESULT_DELIVERY_METHOD_UNSPECIFIED: domain.DESK}
