"""Composition root of the identity service.

The contract is served already; its RPCs answer UNIMPLEMENTED until the
service's own domain lands.
"""

from __future__ import annotations

from motcua.kernel.config import Settings
from motcua.kernel.eventstore import ServiceApplication
from motcua.kernel.grpc_server import serve
from motcua.kernel.runtime import Service
from motcua.identity.v1 import identity_service_pb2, identity_service_pb2_grpc


class IdentityApplication(ServiceApplication):
    name = "identity"


def build(settings: Settings) -> Service:
    app = IdentityApplication(settings)
    return Service(
        settings=settings,
        app=app,
        registrations=[serve(identity_service_pb2, identity_service_pb2_grpc)],
    )
