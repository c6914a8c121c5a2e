"""Kernel pieces that need no server: configuration, error mapping, validation paths."""

from __future__ import annotations

import pytest
from google.rpc import code_pb2, error_details_pb2

from motcua.kernel.config import ConfigError, Settings
from motcua.kernel.errors import FieldViolation, InvalidArgument, InvalidTransition, NotFound, VersionConflict
from motcua.kernel.grpc_errors import status_for
from motcua.kernel.validation import validate_request
from motcua.procedures.v1 import procedure_service_pb2 as pb

BASE_ENV = {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "5432", "POSTGRES_USER": "motcua"}


def unpack(status, detail_type):
    (item,) = [d for d in status.details if d.Is(detail_type.DESCRIPTOR)]
    detail = detail_type()
    item.Unpack(detail)
    return detail


def test_settings_come_from_the_environment_with_a_database_per_service():
    settings = Settings.from_env({**BASE_ENV, "MOTCUA_SERVICE": "dossiers", "MOTCUA_GRPC_WORKERS": "8"})
    assert settings.eventstore_env["POSTGRES_DBNAME"] == "motcua_dossiers"
    assert settings.events_topic == "motcua.dossiers.events.v1"
    assert settings.grpc_workers == 8


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"POSTGRES_HOST": "x", "POSTGRES_PORT": "1", "POSTGRES_USER": "u"}, "MOTCUA_SERVICE"),
        ({"MOTCUA_SERVICE": "a", "POSTGRES_PORT": "1", "POSTGRES_USER": "u"}, "POSTGRES_HOST"),
        ({**BASE_ENV, "MOTCUA_SERVICE": "a", "MOTCUA_GRPC_WORKERS": "many"}, "MOTCUA_GRPC_WORKERS"),
    ],
)
def test_bad_configuration_is_refused_by_name(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_invalid_argument_carries_every_field_violation():
    status = status_for(InvalidArgument(FieldViolation("name", "must not be blank"), FieldViolation("code", "bad")))
    assert status.code == code_pb2.INVALID_ARGUMENT
    bad_request = unpack(status, error_details_pb2.BadRequest)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("name", "must not be blank"),
        ("code", "bad"),
    ]


def test_each_domain_error_has_its_code():
    assert status_for(NotFound("Procedure", "p1")).code == code_pb2.NOT_FOUND
    transition = status_for(InvalidTransition("dossier 000.00.10.H56-260105-0001", "refused", "receive"))
    assert transition.code == code_pb2.FAILED_PRECONDITION
    assert unpack(transition, error_details_pb2.ErrorInfo).metadata["current_state"] == "refused"
    conflict = status_for(VersionConflict("p1", expected=3, current=5))
    assert conflict.code == code_pb2.ABORTED
    assert unpack(conflict, error_details_pb2.ErrorInfo).metadata["current_version"] == "5"


def test_validation_reports_paths_and_accepts_vietnamese():
    with pytest.raises(InvalidArgument) as error:
        validate_request(
            pb.CreateProcedureRequest(
                code="1.001193.000.00.00.H56", name="", agency_id="000.00.10.H56", processing_days=400
            )
        )
    assert {v.field for v in error.value.violations} == {"name", "processing_days"}
    validate_request(
        pb.CreateProcedureRequest(
            code="1.001193.000.00.00.H56", name="Đăng ký khai sinh", agency_id="000.00.10.H56", processing_days=1
        )
    )
