"""The identity section of `make bench` (alone: `make bench BENCH_ARGS="--only identity"`).

password logins/s per core
    ``Authentication.verify_login`` called directly, in this process, on the bench's real
    PostgreSQL: the argon2id hash at the default cost (7168 KiB, 5 passes, 1 lane: Keycloak's
    default argon2id), the throttle lookup, and the LoginAttempt event committed. Not through
    the login form: the form adds a CSRF check, a session and a code, small beside the hash.
    One thread with this process pinned to one core; "per core" = logins / CPU seconds this
    process used (the hash runs here; PostgreSQL's share of the commit is left out, and a
    core shared with other processes does not lower it). "per s" is the one caller's wall
    rate, which also waits for each durable commit.
refresh grants/s, client-credential grants/s at the token endpoint
    Real HTTP requests to the identity process's /oauth2/token (the public portal client's
    rotating refresh tokens, one chain per caller; the confidential service client with
    client_secret_basic), from caller threads in this process. "per core" divides the grants
    by the CPU seconds the identity process used (from /proc): what one core of identity
    does, with the callers' CPU (and PostgreSQL's) left out. Plain HTTP on loopback: no TLS.
token validations/s
    The kernel's ``TokenVerifier.actor`` (what every service's interceptor calls), in this
    process pinned to one core: first-seen tokens (ES256 signature and claims checked) and a
    token seen before (the cache); "per core" divides by this process's CPU seconds.

Keycloak's published sizing, per vCPU at its default password hashing, is printed beside:
https://www.keycloak.org/high-availability/concepts-memory-and-cpu-sizing ("Concepts for
sizing CPU and memory resources"): 15 password logins/s, 120 client-credential grants/s,
120 refresh token requests/s per vCPU. Targets per core: three times that for logins, four
times for refresh grants, ten times for client-credential grants; and 20,000 first-seen token
validations/s. Figures below a target say so; tests never assert timings.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2

KEYCLOAK_URL = "https://www.keycloak.org/high-availability/concepts-memory-and-cpu-sizing"
KEYCLOAK_PER_VCPU = {"password_logins": 15, "client_credentials": 120, "refresh": 120}
TARGET_FACTOR = {"password_logins": 3, "refresh": 4, "client_credentials": 10}
FIRST_SEEN_VALIDATIONS_PER_S = 20_000  # a service's verifier, tokens it has not seen before
PASSWORD = "Mật-khẩu-đo-2026"
PORTAL, PORTAL_REDIRECT = "motcua-portal", "http://127.0.0.1:5173/callback"  # infra/local/oidc/clients.json
SERVICE, SERVICE_SECRET = "motcua-service", "dev-only-service-secret"


@contextlib.contextmanager
def one_core() -> Iterator[None]:
    """This process pinned to one core (the last), then back."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def timed(call: Callable[[], object], seconds: float, most: int | None = None) -> tuple[int, float, float]:
    """(calls, wall seconds, this process's CPU seconds) of calling for about `seconds`
    (or `most` calls, if that comes first)."""
    calls, start, cpu = 0, time.perf_counter(), time.process_time()
    deadline = start + seconds
    while time.perf_counter() < deadline and (most is None or calls < most):
        call()
        calls += 1
    return calls, time.perf_counter() - start, time.process_time() - cpu


def password_logins(stack, seconds: float) -> dict:
    from motcua.identity.bootstrap import build_application
    from motcua.identity.config import IdentityConfig
    from motcua.identity.domain import Profile

    database = "motcua_identity_bench"
    stack.postgres.create_database(database)
    config = IdentityConfig.from_env({"MOTCUA_IDENTITY_DIR": str(stack.profile.root / "identity-bench")})
    app, auth = build_application(stack.settings("identity", POSTGRES_DBNAME=database), config)
    try:
        login = f"do.dang.nhap.{os.getpid()}.{int(time.time())}"
        auth.create_account(Profile(kind="citizen", display_name="Người đo", login=login,
                                    personal_id_number=f"0389{int(time.time()) % 10**8:08d}"), PASSWORD)
        assert auth.verify_login(login, PASSWORD).succeeded
        with one_core():
            calls, wall, cpu = timed(lambda: auth.verify_login(login, PASSWORD, source_address="127.0.0.1"), seconds)
    finally:
        app.close()
    return {"per_s": calls / wall, "per_core_s": calls / max(cpu, 1e-9), "calls": calls,
            "argon2": f"{config.argon2.memory_kib} KiB, {config.argon2.iterations} passes, "
                      f"{config.argon2.parallelism} lane"}


def _cpu(pid: int) -> float:
    from tests.perf.stack import _cpu_seconds

    return _cpu_seconds(pid)


def _grants(pid: int, callers: int, seconds: float, make: Callable[[], Callable[[], None]]) -> dict:
    """Each caller thread runs the call its make() returns for `seconds`; identity's CPU is
    measured."""
    counts = [0] * callers
    calls = [make() for _ in range(callers)]  # set-up (logins) before the clock starts
    start_cpu, start = _cpu(pid), time.perf_counter()

    def loop(i: int) -> None:
        deadline = start + seconds
        while time.perf_counter() < deadline:
            calls[i]()
            counts[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - start, _cpu(pid) - start_cpu
    total = sum(counts)
    return {"per_s": total / wall, "per_core_s": total / max(cpu, 1e-9), "calls": total,
            "identity_cpu_pct": round(100 * cpu / wall, 1)}


def _portal_login(issuer: str, login: str) -> str:
    """A refresh token of the portal client, after a code + PKCE login through the login page."""
    from authlib.integrations.httpx_client import OAuth2Client

    from tests.identity.oidc_support import Browser

    client = OAuth2Client(client_id=PORTAL, token_endpoint_auth_method="none", redirect_uri=PORTAL_REDIRECT,
                          scope="openid offline_access", code_challenge_method="S256", trust_env=False)
    verifier = "b" * 64
    url, _ = client.create_authorization_url(f"{issuer}/oauth2/authorize", code_verifier=verifier)
    back = Browser().log_in(url, login, PASSWORD)
    return client.fetch_token(f"{issuer}/oauth2/token", authorization_response=back,
                              code_verifier=verifier)["refresh_token"]


def token_endpoint(stack, seconds: float, callers: int) -> dict:
    from motcua.identity.v1 import account_pb2, identity_service_pb2 as pb
    from motcua.identity.v1.role_pb2 import Role
    from tests.support import auth as test_auth
    from tests.support.identity import identity_service_stub

    issuer = stack.auth_env["MOTCUA_AUTH_ISSUER"]
    token_url = f"{issuer}/oauth2/token"
    pid = stack.identity.pid
    test_auth.use_identity(stack.identity.addr)
    admin = identity_service_stub(
        stack.identity.addr, test_auth.issue(roles=(Role.ROLE_CREDENTIAL_OFFICER,)).access_token
    )
    login = f"do.lam.moi.{int(time.time())}"
    admin.CreateAccount(pb.CreateAccountRequest(kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name="Người đo",
                                                login=login, password=PASSWORD,
                                                personal_id_number=f"0379{int(time.time()) % 10**8:08d}"))

    def refresh_chain() -> Callable[[], None]:
        http = httpx2.Client(trust_env=False, timeout=30)
        state = {"token": _portal_login(issuer, login)}

        def call() -> None:
            answer = http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": state["token"],
                                                "client_id": PORTAL})
            assert answer.status_code == 200, answer.text
            state["token"] = answer.json()["refresh_token"]

        return call

    def client_credentials() -> Callable[[], None]:
        http = httpx2.Client(trust_env=False, timeout=30, auth=(SERVICE, SERVICE_SECRET))

        def call() -> None:
            answer = http.post(token_url, data={"grant_type": "client_credentials"})
            assert answer.status_code == 200, answer.text

        return call

    return {"refresh": _grants(pid, callers, seconds, refresh_chain),
            "client_credentials": _grants(pid, callers, seconds, client_credentials)}


def token_validations(stack, seconds: float) -> dict:
    from motcua.identity.keys import SigningKeys
    from motcua.identity.tokens import TokenIssuer
    from motcua.kernel.auth import TokenVerifier
    from motcua.kernel.config import AuthSettings

    env = stack.auth_env
    auth = AuthSettings(jwks_url=env["MOTCUA_AUTH_JWKS_URL"], issuer=env["MOTCUA_AUTH_ISSUER"], audience="motcua",
                        leeway=30)
    issuer = TokenIssuer(SigningKeys.load(Path(stack.identity_keys), generate=False), auth)
    tokens = [issuer.issue(f"account-{i}", ["applicant"], ttl=3600).access_token for i in range(20000)]
    verifier = TokenVerifier(auth)
    verifier.actor(f"Bearer {tokens[0]}")  # the JWKS fetched once, as at a service's first call
    remaining = iter(tokens[1:])
    with one_core():
        first, first_wall, first_cpu = timed(lambda: verifier.actor(f"Bearer {next(remaining)}"),
                                             min(seconds, 5.0), most=len(tokens) - 1)
        cached, cached_wall, cached_cpu = timed(lambda: verifier.actor(f"Bearer {tokens[0]}"), min(seconds, 3.0))
    return {"first_seen": {"per_s": first / first_wall, "per_core_s": first / max(first_cpu, 1e-9), "calls": first},
            "cached": {"per_s": cached / cached_wall, "per_core_s": cached / max(cached_cpu, 1e-9), "calls": cached}}


def run_identity(stack, seconds: float, callers: int, step: Callable[[str], None]) -> dict:
    # The bench restarts PostgreSQL after the stack started identity (track_commit_timestamp):
    # a fresh identity process, so that no request meets a pooled connection to the old server.
    stack.identity.terminate()
    stack.identity.start()
    step("identity: password logins (verify_login, one core)")
    logins = password_logins(stack, seconds)
    step("identity: refresh and client-credential grants at the token endpoint")
    grants = token_endpoint(stack, seconds, callers)
    step("identity: token validations (TokenVerifier.actor, one core)")
    validations = token_validations(stack, seconds)
    return {"password_logins": logins, **grants, "validations": validations, "callers": callers,
            "keycloak_per_vcpu": KEYCLOAK_PER_VCPU, "keycloak_source": KEYCLOAK_URL,
            "targets_per_core": {**{k: v * TARGET_FACTOR[k] for k, v in KEYCLOAK_PER_VCPU.items()},
                                 "first_seen": FIRST_SEEN_VALIDATIONS_PER_S}}


def print_identity(r: dict) -> None:
    print(f"\nidentity (per core beside Keycloak's per vCPU, {KEYCLOAK_URL})")
    print(f"{'':34}{'per s':>10}{'per core':>10}{'Keycloak':>10}{'target':>8}")
    rows = (("password logins (verify_login)", "password_logins"), ("refresh grants (token endpoint)", "refresh"),
            ("client-credential grants", "client_credentials"))
    for label, key in rows:
        figure, keycloak, target = r[key], r["keycloak_per_vcpu"][key], r["targets_per_core"][key]
        below = "  BELOW TARGET" if figure["per_core_s"] < target else ""
        print(f"{label:34}{figure['per_s']:>10.1f}{figure['per_core_s']:>10.1f}{keycloak:>10}{target:>8}{below}")
    for label, key in (("token validations, first seen", "first_seen"), ("token validations, cached", "cached")):
        figure, target = r["validations"][key], r["targets_per_core"].get(key)
        below = "  BELOW TARGET" if target and figure["per_core_s"] < target else ""
        print(f"{label:34}{figure['per_s']:>10.0f}{figure['per_core_s']:>10.0f}{'':>10}{target or '':>8}{below}")
    print(f"  argon2id {r['password_logins']['argon2']}; grants from {r['callers']} callers; identity used "
          f"{r['refresh']['identity_cpu_pct']}% / {r['client_credentials']['identity_cpu_pct']}% of a core "
          "(refresh / client credentials); per core = grants / identity's CPU seconds")
