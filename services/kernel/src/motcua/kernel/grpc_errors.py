"""One error model: domain errors become gRPC statuses with google.rpc details."""

from __future__ import annotations

import logging

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from .errors import (
    AlreadyExists,
    DomainError,
    InvalidArgument,
    InvalidTransition,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    Throttled,
    VersionConflict,
)
from .localized import locale_of_metadata, localize

log = logging.getLogger(__name__)

ERROR_DOMAIN = "motcua.gov.vn"


def pack_details(*details: Message) -> list[any_pb2.Any]:
    """google.rpc detail messages packed for a Status."""
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return packed


def _error_info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)


def status_for(error: DomainError) -> status_pb2.Status:
    match error:
        case InvalidArgument():
            bad_request = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description, reason=v.reason
                    )
                    for v in error.violations
                ]
            )
            return status_pb2.Status(
                code=code_pb2.INVALID_ARGUMENT, message=str(error), details=pack_details(bad_request)
            )
        case NotFound():
            info = error_details_pb2.ResourceInfo(resource_type=error.resource_type, resource_name=error.resource_id)
            return status_pb2.Status(code=code_pb2.NOT_FOUND, message=str(error), details=pack_details(info))
        case AlreadyExists():
            info = error_details_pb2.ResourceInfo(resource_type=error.resource_type, resource_name=error.key)
            details = [info]
            if error.field:
                violation = error_details_pb2.BadRequest.FieldViolation(
                    field=error.field, description=str(error), reason="ALREADY_EXISTS"
                )
                details.append(error_details_pb2.BadRequest(field_violations=[violation]))
            return status_pb2.Status(code=code_pb2.ALREADY_EXISTS, message=str(error), details=pack_details(*details))
        case InvalidTransition():
            failure = error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type="STATE", subject=error.subject, description=f"{error.subject} is {error.current_state}"
                    )
                ]
            )
            info = _error_info("INVALID_TRANSITION", current_state=error.current_state, action=error.action)
            return status_pb2.Status(
                code=code_pb2.FAILED_PRECONDITION, message=str(error), details=pack_details(failure, info)
            )
        case VersionConflict():
            metadata = {"aggregate_id": error.aggregate_id}
            if error.current is not None:
                metadata["current_version"] = str(error.current)
            info = _error_info("VERSION_CONFLICT", **metadata)
            return status_pb2.Status(code=code_pb2.ABORTED, message=str(error), details=pack_details(info))
        case PermissionDenied():
            info = _error_info(error.error_reason, **{**error.metadata, "action": error.action})
            return status_pb2.Status(code=code_pb2.PERMISSION_DENIED, message=str(error), details=pack_details(info))
        case LimitExceeded():
            quota = error_details_pb2.QuotaFailure(
                violations=[error_details_pb2.QuotaFailure.Violation(subject=error.subject, description=str(error))]
            )
            info = _error_info("LIMIT_EXCEEDED", limit=error.limit, allowed=str(error.allowed), setting=error.setting)
            return status_pb2.Status(
                code=code_pb2.RESOURCE_EXHAUSTED, message=str(error), details=pack_details(quota, info)
            )
        case Throttled():
            retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(
                seconds=int(error.retry_after_seconds + 0.999)))
            quota = error_details_pb2.QuotaFailure(
                violations=[error_details_pb2.QuotaFailure.Violation(subject=error.subject, description=str(error))]
            )
            info = _error_info("THROTTLED", limit=error.limit)
            return status_pb2.Status(
                code=code_pb2.RESOURCE_EXHAUSTED, message=str(error), details=pack_details(retry, quota, info)
            )
    return status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=str(error))


def _for_caller(context: grpc.ServicerContext, status: status_pb2.Status) -> status_pb2.Status:
    """The status with a message for people in the caller's language (kernel localized)."""
    return localize(status, code_pb2.Code.Name(status.code), locale_of_metadata(context.invocation_metadata()))


def abort_with(context: grpc.ServicerContext, error: DomainError) -> None:
    """Ends the call with the status for ``error`` (raises, as context.abort does)."""
    context.abort_with_status(rpc_status.to_status(_for_caller(context, status_for(error))))


def abort_internal(context: grpc.ServicerContext) -> None:
    context.abort_with_status(rpc_status.to_status(_for_caller(
        context, status_pb2.Status(code=code_pb2.INTERNAL, message="internal error; see the service log"))))


def abort_unauthenticated(context: grpc.ServicerContext, reason: str, message: str) -> None:
    """Ends the call with UNAUTHENTICATED and an ErrorInfo saying why (e.g. TOKEN_EXPIRED)."""
    info = _error_info(reason)
    context.abort_with_status(rpc_status.to_status(_for_caller(
        context, status_pb2.Status(code=code_pb2.UNAUTHENTICATED, message=message, details=pack_details(info)))))
