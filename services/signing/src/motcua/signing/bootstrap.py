"""Composition root of the signing service.

The contract is served already; its RPCs answer UNIMPLEMENTED until the
service's own domain lands.
"""

from __future__ import annotations

from motcua.kernel.config import Settings
from motcua.kernel.eventstore import ServiceApplication
from motcua.kernel.grpc_server import serve
from motcua.kernel.runtime import Service
from motcua.signing.v1 import signing_service_pb2, signing_service_pb2_grpc


class SigningApplication(ServiceApplication):
    name = "signing"


def build(settings: Settings) -> Service:
    app = SigningApplication(settings)
    return Service(
        settings=settings,
        app=app,
        registrations=[serve(signing_service_pb2, signing_service_pb2_grpc)],
    )
