"""Any RPC of any motcua service, called by its descriptor: for the tests that go over all of
them (the authorization matrix). Channels carry the given token through tests/support/auth's
interceptor, or none at all (``token=NO_TOKEN``) to see what an anonymous caller gets.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import grpc
from google.protobuf import descriptor, message_factory

import motcua
from motcua.kernel.access import Policy
from motcua.kernel.grpc_server import access_policies

from .auth import authorized_channel

NO_TOKEN = "-"
TIMEOUT = 15.0


def service_modules() -> list[str]:
    """Every generated ``motcua.<svc>.v1.*_service_pb2`` module name, from the stubs on the path."""
    names = set()
    for root in map(Path, motcua.__path__):
        for path in root.glob("*/v1/*_service_pb2.py"):
            names.add(f"motcua.{path.parent.parent.name}.v1.{path.stem}")
    return sorted(names)


def services() -> list[descriptor.ServiceDescriptor]:
    import importlib

    found = []
    for name in service_modules():
        found.extend(importlib.import_module(name).DESCRIPTOR.services_by_name.values())
    return found


def methods() -> list[tuple[descriptor.MethodDescriptor, Policy]]:
    """Every RPC of every service with its declared access policy."""
    return [(service.methods_by_name[path.rsplit("/", 1)[1]], policy)
            for service in services() for path, policy in access_policies(service).items()]


# Served by every service over its own log: the tests that go over all RPCs ask this one.
SERVED_BY_EVERY_SERVICE = {"audit": "dossiers"}


def owner(method: descriptor.MethodDescriptor) -> str:
    """The service process serving the method: `motcua.dossiers.v1.X` -> `dossiers`."""
    package = method.containing_service.full_name.split(".")[1]
    return SERVED_BY_EVERY_SERVICE.get(package, package)


@cache
def _channel(addr: str, token: str) -> grpc.Channel:
    if token == NO_TOKEN:
        # Deliberately bare: the tests' channels add the default token to every call.
        return grpc.insecure_channel(addr)
    return authorized_channel(addr, token)


def call(addr: str, method: descriptor.MethodDescriptor, token: str) -> grpc.RpcError | None:
    """Calls the method with an empty request; the error it failed with, or None."""
    request_type = message_factory.GetMessageClass(method.input_type)
    response_type = message_factory.GetMessageClass(method.output_type)
    path = f"/{method.containing_service.full_name}/{method.name}"
    channel = _channel(addr, token)
    try:
        if method.server_streaming:
            stream = channel.unary_stream(
                path, request_serializer=request_type.SerializeToString, response_deserializer=response_type.FromString
            )(request_type(), timeout=TIMEOUT)
            next(iter(stream), None)
            stream.cancel()
        else:
            channel.unary_unary(path, request_serializer=request_type.SerializeToString,
                                response_deserializer=response_type.FromString)(request_type(), timeout=TIMEOUT)
    except grpc.RpcError as e:
        return e
    return None
