"""The REST API under schemathesis: generated requests from the gateway's own `/openapi.json`,
against the gateway in front of every real service, with a token of each role.

Two phases share the budget of cases (``MOTCUA_FUZZ_CASES``, 500 by default; ``make fuzz``
runs 5,000):

- stateless: every operation, with valid (positive) and invalid (negative) inputs, each case
  sent with the token of the next role in turn (and now and then none);
- stateful: schemathesis' state machine, which follows the links it infers between operations
  (an id one response returns is the path parameter of the next call), a role per scenario.

Every response is checked: no 5xx (``not_a_server_error``) and the body conforms to the
schema the document declares for its status (``response_schema_conformance``). Failures are
collected, not stopped at, so the counts printed at the end (cases, 5xx, schema violations)
are the run's whole picture; each 5xx found has become a regression test beside the code it
concerns. A request the gateway never answers fails the run too. An RPC the protos declare and
its service does not implement yet answers 501 UNIMPLEMENTED: listed in the report, not
counted as a crash.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup, ServerError
from schemathesis.specs.openapi.checks import response_schema_conformance

from motcua.identity.v1.role_pb2 import Role
from tests.gateway.support import Gateway, GatewayStarter
from tests.support import auth
from tests.support.platform import every_service

CASES = int(os.environ.get("MOTCUA_FUZZ_CASES", "500"))
STATEFUL_SHARE = 0.3  # of the cases, for the state machine's steps
STEPS_PER_SCENARIO = 6
AGENCY = "000.00.10.H56"
CHECKS = [not_a_server_error, response_schema_conformance]
ANONYMOUS = "anonymous"
# Follow-a-live-stream operations never end on their own: a case would wait for its timeout.
LIVE_STREAMS = {"NotificationService_StreamInbox"}
# Past the gateway's own deadline on backend calls (MOTCUA_RPC_TIMEOUT, 30 s): a slow backend
# shows as the gateway's 504, a check failure, and only a gateway that does not answer at all
# as "no answer".
REQUEST_TIMEOUT = 45


@dataclass
class Tally:
    cases: int = 0
    stateless: int = 0
    stateful: int = 0
    server_errors: list[str] = field(default_factory=list)
    schema_violations: list[str] = field(default_factory=list)
    other_failures: list[str] = field(default_factory=list)
    per_role: dict[str, int] = field(default_factory=dict)
    unimplemented: set[str] = field(default_factory=set)
    stopped_runs: int = 0  # state machine runs hypothesis stopped as inconsistent (see the test)

    def report(self) -> str:
        lines = [f"fuzz: {self.cases} cases ({self.stateless} stateless, {self.stateful} stateful steps), "
                 f"{len(self.server_errors)} 5xx, {len(self.schema_violations)} schema violations, "
                 f"{len(self.other_failures)} other failures; {self.stopped_runs} stateful runs restarted",
                 "fuzz: cases per role: " + ", ".join(f"{r}={n}" for r, n in sorted(self.per_role.items())),
                 "fuzz: not implemented yet (501): " + (", ".join(sorted(self.unimplemented)) or "none")]
        for title, found in (("5xx", self.server_errors), ("schema", self.schema_violations),
                             ("other", self.other_failures)):
            lines += [f"--- {title}: {entry}" for entry in found[:20]]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def backends(stack, tmp_path_factory) -> Iterator[dict[str, str]]:
    with every_service(stack, tmp_path_factory.mktemp("signing")) as addresses:
        yield addresses


@pytest.fixture(scope="module")
def gateway(stack, backends) -> Iterator[Gateway]:
    starter = GatewayStarter(stack)
    try:
        yield starter(backends, MOTCUA_LOG_LEVEL="INFO")
    finally:
        starter.stop()


@pytest.fixture(scope="module")
def role_tokens(gateway) -> dict[str, str | None]:
    """A token of each single role (officers in AGENCY, applicants of no agency), one holding every
    role, and none at all."""
    tokens: dict[str, str | None] = {}
    for role in auth.ALL_ROLES:
        name = Role.Name(role).removeprefix("ROLE_").lower()
        agency = "" if role == Role.ROLE_APPLICANT else AGENCY
        tokens[name] = auth.issue(roles=(role,), agency_id=agency, display_name="Trần Thị Ánh Tuyết",
                                  ttl_seconds=6 * 3600).access_token
    tokens["every_role"] = auth.issue(agency_id=AGENCY, ttl_seconds=6 * 3600).access_token
    tokens[ANONYMOUS] = None
    return tokens


def headers_of(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def classify(tally: Tally, error: Failure | FailureGroup, label: str) -> None:
    """Sorts each failed check into the tally."""
    for failure in error.exceptions if isinstance(error, FailureGroup) else (error,):
        text = f"{label}: {failure.code} {failure.title}: {str(failure.message)[:800]}"
        if isinstance(failure, ServerError) and failure.status_code == 501:
            # An RPC the protos declare and its service does not implement yet answers
            # UNIMPLEMENTED: a documented gap (README), not a crash.
            tally.unimplemented.add(label.split(" ", 1)[1])
        elif isinstance(failure, ServerError):
            tally.server_errors.append(text)
        elif "response_schema_conformance" in failure.checks:
            tally.schema_violations.append(text)
        else:
            tally.other_failures.append(text)


# The budget grows with the cases (a busy 2-core machine answers a case in well under a second).
@pytest.mark.timeout(300 + CASES)
def test_the_api_under_generated_requests_answers_no_5xx_and_keeps_its_schema(gateway, role_tokens):
    tally = Tally()
    session = requests.Session()
    session.trust_env = False  # loopback: never via an http_proxy
    document = session.get(f"{gateway.url}/openapi.json", timeout=REQUEST_TIMEOUT).json()
    schema = schemathesis.openapi.from_dict(document)
    assert len(list(schema.get_all_operations())) >= 60
    schema = schema.exclude(operation_id=sorted(LIVE_STREAMS))
    operations = [result.ok() for result in schema.get_all_operations()]
    roles = itertools.cycle(sorted(role_tokens))

    def call(case, **kwargs):
        """The case's request; sent once more if the first got no answer in time (the machine
        may be busy), recorded as a failure if neither did."""
        for attempt in (1, 2):
            try:
                return case.call(**kwargs)
            except requests.RequestException as error:
                if attempt == 2:
                    tally.other_failures.append(f"{case.operation.label}: no answer: {error}")
                    return None

    def send(case, role: str) -> None:
        tally.cases += 1
        tally.per_role[role] = tally.per_role.get(role, 0) + 1
        response = call(case, base_url=gateway.url, session=session, headers=headers_of(role_tokens[role]),
                        timeout=REQUEST_TIMEOUT)
        if response is None:
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as error:
            classify(tally, error, f"{role} {case.operation.label}")

    # --- stateless: every operation, valid and invalid inputs, the roles in turn
    stateless_budget = int(CASES * (1 - STATEFUL_SHARE))
    per_operation_mode = max(1, stateless_budget // (len(operations) * 2))
    settings = hypothesis.settings(max_examples=per_operation_mode, database=None, deadline=None,
                                   suppress_health_check=list(HealthCheck), phases=[Phase.generate],
                                   derandomize=False)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:
                send(case, next(roles))
                tally.stateless += 1

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                pass  # no valid negative input exists for an operation without parameters

    # --- stateful: scenarios that follow the inferred links, one role per scenario
    machine_roles = itertools.cycle(["every_role", *sorted(r for r in role_tokens if r != ANONYMOUS)])

    class Scenario(schema.as_state_machine()):
        def setup(self) -> None:
            self.role = next(machine_roles)

        def get_call_kwargs(self, case):
            return {"base_url": gateway.url, "session": session, "timeout": REQUEST_TIMEOUT,
                    "headers": headers_of(role_tokens[self.role])}

        def call(self, case, **kwargs):
            response = call(case, **kwargs)
            if response is None:  # recorded; the scenario cannot go on without an answer
                raise hypothesis.errors.UnsatisfiedAssumption()
            return response

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            tally.cases += 1
            tally.stateful += 1
            tally.per_role[self.role] = tally.per_role.get(self.role, 0) + 1
            try:
                case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)
            except (Failure, FailureGroup) as error:
                classify(tally, error, f"{self.role} {case.operation.label} (stateful)")

    # Scenarios end early at times (a step with nowhere to go): run more until the budget is spent.
    while tally.cases < CASES:
        before = tally.cases
        try:
            Scenario.run(
                settings=hypothesis.settings(
                    max_examples=max(1, (CASES - tally.cases) // STEPS_PER_SCENARIO),
                    stateful_step_count=STEPS_PER_SCENARIO,
                    database=None,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.generate],
                )
            )
        except hypothesis.errors.FlakyStrategyDefinition:
            # The API keeps state between scenarios: hypothesis, finding that a replayed choice
            # of rules went another way than before, stops the run (every response so far is
            # checked and counted). The next run goes on from there.
            tally.stopped_runs += 1
        assert tally.cases > before, "the state machine made no call"

    print("\n" + tally.report())
    assert tally.cases >= CASES, tally.report()
    assert not tally.server_errors, tally.report()
    assert not tally.schema_violations, tally.report()
    assert not tally.other_failures, tally.report()
