"""Import a year's working-day calendar from a JSON file through the CalendarService API.

    motcua-calendar-import [--addr HOST:PORT] [--agency EID] [--tls-ca PEM]
        [--token TOKEN | --token-file FILE | --dev-token-from HOST:PORT [--dev-token-agency EID]]
        FILE
    python -m motcua.procedures.calendar_import …

The file has the shape of ``infra/local/seed/calendar-2026.json``: ``year``, ``timezone``,
``weekend`` (weekday names), ``working_hours`` (``[["07:30", "11:30"], …]`` or
``[{"start": …, "end": …}]``), ``reception_cutoff``, ``holidays`` and
``makeup_working_days`` (``{"date", "name"}``); an optional ``agency_id`` (the
``--agency-id`` option wins; neither: the province-wide calendar).

Idempotent: it creates the calendar if there is none, otherwise corrects the latest version
to match the file (an edit of a published version starts the next one), then publishes
if anything differs from the published version; a second run changes nothing. The file is
checked whole before anything is sent. Exit codes: 0 done, 1 the service refused or could
not be reached, 2 a bad file or command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from motcua.clock import InvalidCalendar, parse_year_calendar
from motcua.identity.v1 import identity_service_pb2, identity_service_pb2_grpc
from motcua.kernel import cli_flags
from motcua.kernel.localtime import VIETNAM_ZONE_NAME
from motcua.kernel.role_protos import role_enum
from motcua.kernel.roles import ADMINISTRATOR
from motcua.procedures.v1 import calendar_pb2, calendar_service_pb2 as pb, calendar_service_pb2_grpc

from .convert import weekday_values

DEFAULT_ADDR = "127.0.0.1:15052"  # the procedures service of `make run`


class BadFile(Exception):
    """The file is not a calendar this tool can import."""


def read_calendar_file(path: Path, agency_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """(agency id, plain calendar) from the file, checked by the clock's rules."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadFile(f"{path}: cannot read it as JSON: {e}") from None
    if not isinstance(data, dict):
        raise BadFile(f"{path}: the top level must be an object")
    agency = agency_id if agency_id is not None else data.get("agency_id", "")
    try:
        plain = {
            "year": data.get("year"),
            "timezone": data.get("timezone") or VIETNAM_ZONE_NAME,
            "weekend": [str(d).strip().lower() for d in data.get("weekend", [])],
            "working_hours": [_period(p) for p in data.get("working_hours", [])],
            "reception_cutoff": data.get("reception_cutoff", ""),
            "holidays": [{"date": d["date"], "name": d["name"]} for d in data.get("holidays", [])],
            "makeup_working_days": [
                {"date": d["date"], "name": d["name"]} for d in data.get("makeup_working_days", [])
            ],
        }
        parse_year_calendar(plain, agency_id=agency)
    except InvalidCalendar as e:
        raise BadFile("\n".join(f"{path}: {p.field}: {p.description}" for p in e.problems)) from None
    except (TypeError, KeyError, AttributeError) as e:
        raise BadFile(f"{path}: unexpected shape ({type(e).__name__}: {e}); see calendar-2026.json") from None
    return agency, plain


def _period(period: Any) -> dict[str, str]:
    if isinstance(period, dict):
        return {"start": period["start"], "end": period["end"]}
    start, end = period
    return {"start": start, "end": end}


class Importer:
    def __init__(
        self, stub: calendar_service_pb2_grpc.CalendarServiceStub, metadata: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.stub = stub
        self.metadata = tuple(metadata)
        self.changes = 0
        self.published = False

    def run(self, agency_id: str, plain: dict[str, Any]) -> calendar_pb2.Calendar:
        calendar = self._find(agency_id, plain["year"])
        if calendar is None:
            try:
                calendar = self._create(agency_id, plain)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
                # Created meanwhile: correct it instead (calendars are never deleted: it is found).
                found = self._find(agency_id, plain["year"])
                if found is None:
                    raise
                calendar = found
        if calendar.timezone != plain["timezone"]:
            raise BadFile(
                f"timezone: the calendar's is {calendar.timezone} and cannot change; the file says {plain['timezone']}"
            )
        calendar = self._correct(calendar, plain)
        if calendar.state != calendar_pb2.CALENDAR_STATE_PUBLISHED:
            self.published = True
            calendar = self._call(
                "PublishCalendar",
                pb.PublishCalendarRequest(calendar_id=calendar.calendar_id, expected_version=calendar.version),
            )
        return calendar

    def _find(self, agency_id: str, year: int) -> calendar_pb2.Calendar | None:
        request = pb.ListCalendarsRequest(year=year, agency_id=agency_id, province_wide=not agency_id)
        found = self.stub.ListCalendars(request, metadata=self.metadata).calendars
        return found[0] if found else None

    def _create(self, agency_id: str, plain: dict[str, Any]) -> calendar_pb2.Calendar:
        request = pb.CreateCalendarRequest(
            agency_id=agency_id,
            year=plain["year"],
            timezone=plain["timezone"],
            weekend=weekday_values(plain["weekend"]),
            working_hours=[calendar_pb2.WorkingPeriod(**p) for p in plain["working_hours"]],
            reception_cutoff=plain["reception_cutoff"],
            holidays=[calendar_pb2.CalendarDay(**d) for d in plain["holidays"]],
            makeup_working_days=[calendar_pb2.CalendarDay(**d) for d in plain["makeup_working_days"]],
        )
        self.changes += 1
        return self.stub.CreateCalendar(request, metadata=self.metadata).calendar

    def _correct(self, calendar: calendar_pb2.Calendar, plain: dict[str, Any]) -> calendar_pb2.Calendar:
        """Edits the latest version until it says what the file says. Removals first and
        additions last, so that no step leaves a make-up day on a holiday or a working day."""
        holidays = {d["date"]: d["name"].strip() for d in plain["holidays"]}
        makeup = {d["date"]: d["name"].strip() for d in plain["makeup_working_days"]}
        for day in [d.date for d in calendar.makeup_working_days if d.date not in makeup]:
            calendar = self._edit("RemoveMakeupWorkingDay", calendar, date=day)
        for day in [d.date for d in calendar.holidays if d.date not in holidays]:
            calendar = self._edit("RemoveHoliday", calendar, date=day)
        weekend = weekday_values(plain["weekend"])
        if sorted(calendar.weekend) != sorted(weekend):
            calendar = self._edit("SetWeekend", calendar, weekend=weekend)
        hours = [calendar_pb2.WorkingPeriod(**p) for p in plain["working_hours"]]
        if list(calendar.working_hours) != hours or calendar.reception_cutoff != plain["reception_cutoff"]:
            calendar = self._edit(
                "SetWorkingHours", calendar, working_hours=hours, reception_cutoff=plain["reception_cutoff"]
            )
        current = {d.date: d.name for d in calendar.holidays}
        for day, name in sorted(holidays.items()):
            if current.get(day) != name:
                calendar = self._edit("AddHoliday", calendar, holiday=calendar_pb2.CalendarDay(date=day, name=name))
        current = {d.date: d.name for d in calendar.makeup_working_days}
        for day, name in sorted(makeup.items()):
            if current.get(day) != name:
                calendar = self._edit(
                    "AddMakeupWorkingDay", calendar, makeup_working_day=calendar_pb2.CalendarDay(date=day, name=name)
                )
        return calendar

    def _edit(self, rpc: str, calendar: calendar_pb2.Calendar, **fields: Any) -> calendar_pb2.Calendar:
        request = getattr(pb, f"{rpc}Request")(
            calendar_id=calendar.calendar_id, expected_version=calendar.version, **fields
        )
        self.changes += 1
        return self._call(rpc, request)

    def _call(self, rpc: str, request: Any) -> calendar_pb2.Calendar:
        return getattr(self.stub, rpc)(request, metadata=self.metadata).calendar


def describe_error(error: grpc.RpcError) -> str:
    """The status, its machine-readable reason (e.g. AGENCY_SCOPE, which a caller may wait out
    while the service learns the agency tree) and the bad request's fields."""
    text = f"{error.code().name}: {error.details()}"
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        error_info = error_details_pb2.ErrorInfo()
        if detail.Is(error_info.DESCRIPTOR) and detail.Unpack(error_info) and error_info.reason:
            text += f" (reason {error_info.reason})"
    for detail in status.details if status else ():
        bad_request = error_details_pb2.BadRequest()
        if detail.Is(bad_request.DESCRIPTOR) and detail.Unpack(bad_request):
            text += "".join(f"\n  {v.field}: {v.description}" for v in bad_request.field_violations)
    return text


def development_token(identity_addr: str, agency_id: str, timeout: float,
                      credentials: grpc.ChannelCredentials | None = None) -> str:
    """An administrator's development token from the identity service (development stacks only)."""
    with (grpc.secure_channel(identity_addr, credentials) if credentials is not None
          else grpc.insecure_channel(identity_addr)) as identity_channel:
        stub = identity_service_pb2_grpc.IdentityServiceStub(identity_channel)
        request = identity_service_pb2.IssueDevelopmentTokenRequest(
            roles=[role_enum(ADMINISTRATOR)], agency_id=agency_id, display_name="motcua-calendar-import")
        return stub.IssueDevelopmentToken(request, timeout=timeout, wait_for_ready=True).access_token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="motcua-calendar-import",
        description="Create or correct, then publish, a year's working-day calendar from a JSON file.",
    )
    parser.add_argument("file", type=Path, help="the calendar JSON file (e.g. infra/local/seed/calendar-2026.json)")
    cli_flags.add_addr(parser, "MOTCUA_PROCEDURES_ADDR", DEFAULT_ADDR, "the procedures service",
                       old_spellings=("--target",))
    cli_flags.add_agency(parser, "the agency whose calendar this is (default: the file's agency_id, else "
                                 "province-wide)", default=None, old_spellings=("--agency-id",))
    cli_flags.add_token(parser, "an administrator's")
    parser.add_argument("--dev-token-from", metavar="IDENTITY_ADDR", default="",
                        help="without --token: ask the identity service at this gRPC address for a development token "
                             "(administrator; only where development tokens are on, e.g. `make run`)")
    parser.add_argument(
        "--dev-token-agency",
        metavar="EID",
        default="",
        help="with --dev-token-from: the agency the administrator is granted at (default: the calendar's; "
        "the province-wide calendar needs the province's, the root of the agency tree)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the service (default 30)")
    cli_flags.add_tls(parser)
    cli_flags.add_version(parser, "motcua-procedures")
    args = parser.parse_args(argv)
    try:
        agency_id, plain = read_calendar_file(args.file, args.agency)
        token = cli_flags.token(args)
        credentials = cli_flags.grpc_credentials(args)
    except (BadFile, cli_flags.FlagError) as e:
        print(e, file=sys.stderr)
        return 2
    if not token and args.dev_token_from:
        try:
            token = development_token(args.dev_token_from, args.dev_token_agency or agency_id, args.timeout,
                                      credentials)
        except grpc.RpcError as e:
            print(f"no development token from {args.dev_token_from}: {describe_error(e)}", file=sys.stderr)
            return 1
    metadata = [("authorization", f"Bearer {token}")] if token else []
    with cli_flags.grpc_channel(args) as grpc_channel:
        try:
            grpc.channel_ready_future(grpc_channel).result(timeout=args.timeout)
            importer = Importer(calendar_service_pb2_grpc.CalendarServiceStub(grpc_channel), metadata)
            calendar = importer.run(agency_id, plain)
        except grpc.FutureTimeoutError:
            print(f"the procedures service at {args.addr} did not answer within {args.timeout:.0f}s", file=sys.stderr)
            return 1
        except grpc.RpcError as e:
            print(describe_error(e), file=sys.stderr)
            return 1
        except BadFile as e:
            print(e, file=sys.stderr)
            return 1
    scope = agency_id or "province"
    what = f"{importer.changes} change(s), published" if importer.published else "already up to date"
    print(
        f"calendar {scope} {plain['year']}: version {calendar.calendar_version} in force ({what}); "
        f"id {calendar.calendar_id}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
