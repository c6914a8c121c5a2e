"""Stubs without a bearer token, for the RPCs anyone may call without logging in (the
citizens' dossier status lookup). Every other stub comes from tests/support/clients.py,
which attaches the session's token."""

from __future__ import annotations

import grpc

from motcua.dossiers.v1 import dossier_service_pb2_grpc


def anonymous_dossiers_stub(addr: str) -> dossier_service_pb2_grpc.DossierServiceStub:
    return dossier_service_pb2_grpc.DossierServiceStub(grpc.insecure_channel(addr))
