"""A national-database JSON record as the catalog's request fields, checked locally.

The record shape (see infra/local/seed/procedures.sample.json): code, name, field, level
(province | commune), online (full | partial), processing {unit: working_days |
working_hours, value}, fee_vnd or fees [{name, amount_vnd}], documents [{name, originals,
copies, eform}], steps [{name, role, share, unit?}], result, legal_basis (text or list),
pause_rule (resume | restart), agency (electronic identifier, optional).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from motcua.kernel.errors import FieldViolation, InvalidArgument
from motcua.kernel.validation import validate_request
from motcua.procedures.v1 import procedure_pb2 as p, procedure_service_pb2 as pb

from .. import convert
from ..convert import EnumValue
from ..domain import code_violations

DEFAULT_FEE_NAME = "Lệ phí"
LEVELS = {"province": p.PROCEDURE_LEVEL_PROVINCE, "commune": p.PROCEDURE_LEVEL_COMMUNE}
ONLINE_MODES = {"full": p.ONLINE_MODE_FULL, "partial": p.ONLINE_MODE_PARTIAL}
UNITS = {"working_days": p.PROCESSING_TIME_UNIT_WORKING_DAYS, "working_hours": p.PROCESSING_TIME_UNIT_WORKING_HOURS}
RULES = {"resume": p.SUPPLEMENT_RULE_RESUME, "restart": p.SUPPLEMENT_RULE_RESTART}


class RecordError(InvalidArgument):
    """A record that cannot be imported, with every field that is wrong."""


def create_request(record: Any, default_agency: str) -> pb.CreateProcedureRequest:
    """The CreateProcedureRequest a record stands for; RecordError naming every bad field.

    A record that names no agency gets ``default_agency`` (the importer's --agency).
    """
    if not isinstance(record, dict):
        raise RecordError(FieldViolation("record", "must be a JSON object"))
    violations: list[FieldViolation] = []

    def pick(key: str, table: Mapping[str, EnumValue], unspecified: EnumValue, required: bool = False) -> EnumValue:
        value: Any = record.get(key)  # any JSON value; one not in the table is reported
        if value is None and not required:
            return unspecified
        if value not in table:
            violations.append(FieldViolation(key, f"must be one of {', '.join(table)}"))
            return unspecified
        return table[value]

    processing = record.get("processing")
    if not isinstance(processing, dict):
        violations.append(FieldViolation("processing", "must be an object with unit and value"))
        processing = {}
    agency = record.get("agency") or default_agency
    if not agency:
        violations.append(FieldViolation("agency", "is not stated in the record; give a default with --agency"))
    try:
        request = pb.CreateProcedureRequest(
            code=_text(record.get("code")),
            name=_text(record.get("name")),
            agency_id=agency,
            field=_text(record.get("field")),
            level=pick("level", LEVELS, p.PROCEDURE_LEVEL_UNSPECIFIED),
            online_mode=pick("online", ONLINE_MODES, p.ONLINE_MODE_UNSPECIFIED),
            processing_time=p.ProcessingTime(
                value=_processing_value(processing, violations), unit=pick_unit(processing, violations)
            ),
            fees=_fees(record),
            required_documents=[
                _document(record["code"] if "code" in record else "", i, d)
                for i, d in enumerate(record.get("documents") or [])
            ],
            steps=[
                p.ProcessingStep(
                    name=_text(s.get("name")),
                    role=_text(s.get("role")),
                    unit=_text(s.get("unit")),
                    share=float(s.get("share") or 0),
                )
                for s in record.get("steps") or []
            ],
            result_type=_text(record.get("result")),
            legal_basis=_legal_basis(record.get("legal_basis")),
            supplement_rule=pick("pause_rule", RULES, p.SUPPLEMENT_RULE_UNSPECIFIED),
        )
    except (TypeError, ValueError, AttributeError) as e:
        raise RecordError(FieldViolation("record", f"has a value of the wrong type: {e}")) from None
    if violations:
        raise RecordError(*violations)
    check(request)
    return request


def check(request: pb.CreateProcedureRequest) -> None:
    """The service's own rules (request shape, then the record's content), without calling it;
    violations are named by the record's keys."""
    try:
        validate_request(request)
        violations = [*code_violations(request.code), *convert.content_from(request).trimmed().violations()]
    except InvalidArgument as e:
        violations = list(e.violations)
    if violations:
        raise RecordError(*(FieldViolation(record_key(v.field), v.description, v.reason) for v in violations))


# Request fields -> the record's keys, for messages a person reading the file understands.
_RECORD_KEYS = {
    "agency_id": "agency",
    "online_mode": "online",
    "processing_time": "processing",
    "required_documents": "documents",
    "result_type": "result",
    "supplement_rule": "pause_rule",
}


def record_key(field: str) -> str:
    head, dot, rest = field.partition(".")
    name, bracket, index = head.partition("[")
    return _RECORD_KEYS.get(name, name) + bracket + index + dot + rest


def _processing_value(processing: dict[str, Any], violations: list[FieldViolation]) -> int:
    value = processing.get("value")
    if isinstance(value, bool) or not isinstance(value, int):
        violations.append(FieldViolation("processing.value", "must be a whole number"))
        return 0
    return value


def pick_unit(processing: dict[str, Any], violations: list[FieldViolation]) -> p.ProcessingTimeUnit.ValueType:
    unit = processing.get("unit")
    if unit not in UNITS:
        violations.append(FieldViolation("processing.unit", f"must be one of {', '.join(UNITS)}"))
        return p.PROCESSING_TIME_UNIT_UNSPECIFIED
    return UNITS[unit]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return value


def _number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {value!r}")
    return value


def _fees(record: dict[str, Any]) -> list[p.Fee]:
    if "fees" in record:
        return [p.Fee(name=_text(f.get("name")), amount_vnd=_number(f.get("amount_vnd"))) for f in record["fees"]]
    amount = _number(record.get("fee_vnd", 0))
    return [p.Fee(name=DEFAULT_FEE_NAME, amount_vnd=amount)] if amount else []


def _document(code: str, index: int, document: dict[str, Any]) -> p.RequiredDocument:
    eform = document.get("eform")
    # The national database flags an e-form (true) without naming it: refer to it by the
    # procedure code and the document's position, stable until it gives a reference.
    reference = f"{code}/{index + 1}" if eform is True else _text(eform) if eform else ""
    return p.RequiredDocument(
        name=_text(document.get("name")),
        originals=_number(document.get("originals", 0)),
        copies=_number(document.get("copies", 0)),
        eform_ref=reference,
    )


def _legal_basis(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [_text(v) for v in value]


def load(data: Any) -> list[Any]:
    """The records of a file: a JSON array, or an object whose ``procedures`` is one."""
    if isinstance(data, dict):
        data = data.get("procedures")
    if not isinstance(data, list):
        raise ValueError("the file must hold a JSON array of procedures (or {\"procedures\": [...]})")
    return data
