"""motcua-stack up | down | status: the local stack as detached processes under
.local/<profile>/."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import _proc
from .kafka_broker import Kafka
from .postgres import Postgres
from .profiles import PROFILES, SERVICES, Profile, profile as named_profile
from .seed import SEED_DIR, run_seeds
from .services import (
    ServiceProcess,
    auth_env,
    gateway_env,
    identity_env,
    provider_simulator_command,
    providers_env,
    service_env,
)

GATEWAY = "gateway"
# A local SMTP server keeping every e-mail the notifications service sends, one file each in
# .local/run/mail/new (a Maildir): nothing leaves the machine.
MAIL_SINK = "mail-sink"
MAIL_SINK_PORT = 11025
# eSMS and Zalo ZNS simulated (motcua.devstack.provider_simulator): every SMS and Zalo message
# lands in .local/run/providers/messages.jsonl, and is reported delivered through the gateway.
PROVIDERS = "providers"
PROVIDERS_PORT = 11026
# The notifications service's HTTP port, where the gateway passes the providers' receipts.
NOTIFICATIONS_HTTP_PORT = 8082


def _svc_files(profile: Profile, service: str) -> tuple[Path, Path]:
    d = profile.root / "services"
    return d / f"{service}.pid", d / f"{service}.log"


def _svc_pid(profile: Profile, service: str) -> int | None:
    return _proc.read_pid(_svc_files(profile, service)[0], f"motcua.{service}")


def _rel(path: Path) -> str:
    return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)


def up(profile: Profile, infra_only: bool) -> int:
    pg = Postgres(profile).start()
    kafka = Kafka(profile).start()
    failures: dict[str, str] = {}
    if not infra_only:
        started = []
        for svc, port in profile.service_ports.items():  # spawn all, then wait: they boot in parallel
            if _svc_pid(profile, svc):
                continue
            pid_file, log = _svc_files(profile, svc)
            assert profile.identity_http_port
            # The gateway fronts identity's OIDC endpoints: its URL is the public issuer.
            extra = auth_env(profile.identity_http_port, _gateway_url(profile) if profile.gateway_port else None)
            extra["MOTCUA_METRICS_ADDR"] = f"127.0.0.1:{port + METRICS_PORT_SHIFT}"
            if svc == "identity":
                extra |= identity_env(profile, profile.identity_http_port)
            if svc == "dossiers":  # result documents are signed by the signing service
                extra["MOTCUA_SIGNING_ADDR"] = profile.service_addr("signing")
                # A person's export and erasure gather what identity and notifications hold.
                extra["MOTCUA_IDENTITY_ADDR"] = profile.service_addr("identity")
                extra["MOTCUA_NOTIFICATIONS_ADDR"] = profile.service_addr("notifications")
                extra["MOTCUA_DOSSIERS_DOCUMENTS_DIR"] = str(profile.root / "dossiers" / "documents")
            if svc == "signing":  # the development seals carry the seeded agencies' names
                extra["MOTCUA_SIGNING_DEV_AGENCIES"] = str((SEED_DIR / "agencies.sample.json").resolve())
            if svc == "notifications" and _start_mail_sink(profile):
                extra |= {"MOTCUA_SMTP_HOST": "127.0.0.1", "MOTCUA_SMTP_PORT": str(MAIL_SINK_PORT),
                          "MOTCUA_SMTP_STARTTLS": "false", "MOTCUA_SMTP_FROM": "mot-cua@localhost"}
            if svc == "notifications" and profile.gateway_port:
                _start_providers(profile)
                extra |= {"MOTCUA_HTTP_ADDR": f"127.0.0.1:{NOTIFICATIONS_HTTP_PORT}",
                          **providers_env(f"http://127.0.0.1:{PROVIDERS_PORT}", _gateway_url(profile))}
            sp = ServiceProcess(svc, service_env(profile, svc, port, extra), log, detach=True).start(wait=False)
            pid_file.write_text(f"{sp.pid}\n")
            started.append(sp)
        for sp in started:
            try:
                sp.wait_healthy()
            except Exception as e:  # noqa: BLE001 - reported below, `up` then exits non-zero
                failures[sp.service] = str(e)
                _svc_files(profile, sp.service)[0].unlink(missing_ok=True)
        # Sample data, through the services' APIs: idempotent, so at every start.
        healthy = {svc: profile.service_addr(svc) for svc in profile.service_ports if _svc_pid(profile, svc)}
        for seed, err in run_seeds(healthy, profile.root / "services" / "seed.log").items():
            failures[f"seed {seed}"] = err
        if profile.gateway_port and not _svc_pid(profile, GATEWAY):  # after the services it fronts
            try:
                _start_gateway(profile)
            except Exception as e:  # noqa: BLE001 - reported below like a service
                failures[GATEWAY] = str(e)
                _svc_files(profile, GATEWAY)[0].unlink(missing_ok=True)
    _print_table(profile, pg, kafka)
    for svc, err in failures.items():
        what = "did not load" if svc.startswith("seed ") else "did not become healthy"
        print(f"\nFAILED: {svc} {what}:\n{err}", file=sys.stderr)
    if failures:
        print(f"\n{len(failures)} service(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


# /metrics of each process: a service's gRPC port plus this (15051 -> 19451, ...), the gateway's
# 19480; `curl http://127.0.0.1:19451/metrics`.
METRICS_PORT_SHIFT = 4400
GATEWAY_METRICS_PORT = 19480

# The development portal (a frontend's dev server, e.g. Vite's, on port 5173: the redirect URIs
# of the motcua-portal client in infra/local/oidc/clients.json) calls the gateway from its own
# origin.
DEV_PORTAL_CORS = {"MOTCUA_CORS_ALLOWED_ORIGINS": "http://127.0.0.1:5173,http://localhost:5173",
                   # /docs logs in as this client of infra/local/oidc/clients.json.
                   "MOTCUA_DOCS_OIDC_CLIENT_ID": "motcua-docs"}


def _start_gateway(profile: Profile) -> None:
    assert profile.gateway_port and profile.identity_http_port
    pid_file, log = _svc_files(profile, GATEWAY)
    backends = {svc: profile.service_addr(svc) for svc in profile.service_ports}
    # The services' token keys and issuer: the gateway verifies tokens before reading bodies, as in
    # the chart.
    keys = auth_env(profile.identity_http_port, _gateway_url(profile))
    metrics = {"MOTCUA_METRICS_ADDR": f"127.0.0.1:{GATEWAY_METRICS_PORT}"}
    receipts = {"MOTCUA_NOTIFICATIONS_CALLBACKS_URL": f"http://127.0.0.1:{NOTIFICATIONS_HTTP_PORT}"}
    env = gateway_env(profile.gateway_port, backends, {**keys, **DEV_PORTAL_CORS, **metrics, **receipts},
                      identity_http_port=profile.identity_http_port)
    gw = ServiceProcess(GATEWAY, env, log, detach=True, ready_url=f"{_gateway_url(profile)}/livez").start(wait=False)
    pid_file.write_text(f"{gw.pid}\n")
    gw.wait_healthy()


def _mail_sink_pid(profile: Profile) -> int | None:
    return _proc.read_pid(_svc_files(profile, MAIL_SINK)[0], "aiosmtpd")


def _start_mail_sink(profile: Profile) -> bool:
    """Starts the local SMTP sink (aiosmtpd, a development dependency); False without it."""
    if _mail_sink_pid(profile):
        return True
    try:
        import aiosmtpd  # noqa: F401 - only whether it is installed
    except ImportError:
        print("aiosmtpd is not installed: notifications send no e-mail", file=sys.stderr)
        return False
    pid_file, log = _svc_files(profile, MAIL_SINK)
    maildir = profile.root / "mail"
    maildir.parent.mkdir(parents=True, exist_ok=True)  # Maildir makes the folder, not its parents
    proc = _proc.spawn([sys.executable, "-m", "aiosmtpd", "-n", "-u", "-l", f"127.0.0.1:{MAIL_SINK_PORT}",
                        "-c", "aiosmtpd.handlers.Mailbox", str(maildir)], log)
    pid_file.write_text(f"{proc.pid}\n")
    return True


def _providers_pid(profile: Profile) -> int | None:
    return _proc.read_pid(_svc_files(profile, PROVIDERS)[0], "motcua.devstack.provider_simulator")


def _providers_record(profile: Profile) -> Path:
    return profile.root / "providers" / "messages.jsonl"


def _start_providers(profile: Profile) -> None:
    if _providers_pid(profile):
        return
    pid_file, log = _svc_files(profile, PROVIDERS)
    command = provider_simulator_command(PROVIDERS_PORT, _providers_record(profile), _gateway_url(profile))
    proc = _proc.spawn(command, log)
    pid_file.write_text(f"{proc.pid}\n")


def _gateway_url(profile: Profile) -> str:
    return f"http://127.0.0.1:{profile.gateway_port}"


def down(profile: Profile) -> int:
    for svc in (GATEWAY, *SERVICES):  # the gateway first: it calls the services
        pid_file = _svc_files(profile, svc)[0]
        if pid := _svc_pid(profile, svc):
            print(f"stopping {svc} (pid {pid})")
            _proc.stop_pid(pid, timeout=30)
        pid_file.unlink(missing_ok=True)
    for name, pid in ((MAIL_SINK, _mail_sink_pid(profile)), (PROVIDERS, _providers_pid(profile))):
        if pid:
            print(f"stopping {name} (pid {pid})")
            _proc.stop_pid(pid, timeout=10)
        _svc_files(profile, name)[0].unlink(missing_ok=True)
    for name, component in (("kafka", Kafka(profile)), ("postgres", Postgres(profile))):
        if pid := component.pid:
            print(f"stopping {name} (pid {pid})")
            component.stop()
    print(f"stack '{profile.name}' stopped (data kept in {_rel(profile.root)})")
    return 0


def _print_table(profile: Profile, pg: Postgres, kafka: Kafka) -> None:
    def state(pid: int | None) -> str:
        return f"pid {pid}" if pid else "stopped"

    rows = [
        ("postgres", pg.dsn("motcua_<service>"), state(pg.pid), _rel(pg.log_path)),
        ("kafka", kafka.bootstrap, state(kafka.pid), _rel(kafka.log_path)),
    ]
    for svc, port in profile.service_ports.items():
        address = f"127.0.0.1:{port} (gRPC)"
        if svc == "identity" and profile.identity_http_port:
            address += f", http://127.0.0.1:{profile.identity_http_port} (JWKS)"
        rows.append((svc, address, state(_svc_pid(profile, svc)), _rel(_svc_files(profile, svc)[1])))
    if profile.service_ports:
        rows.append((MAIL_SINK, f"127.0.0.1:{MAIL_SINK_PORT} (SMTP), e-mails in {_rel(profile.root / 'mail')}",
                     state(_mail_sink_pid(profile)), _rel(_svc_files(profile, MAIL_SINK)[1])))
    if profile.service_ports and profile.gateway_port:
        rows.append((PROVIDERS, f"http://127.0.0.1:{PROVIDERS_PORT} (eSMS, Zalo ZNS), messages in "
                                f"{_rel(_providers_record(profile))}",
                     state(_providers_pid(profile)), _rel(_svc_files(profile, PROVIDERS)[1])))
    if profile.gateway_port:
        rows.append((GATEWAY, f"{_gateway_url(profile)} (HTTP)", state(_svc_pid(profile, GATEWAY)),
                     _rel(_svc_files(profile, GATEWAY)[1])))
    print(f"motcua stack '{profile.name}' — data and logs in {_rel(profile.root)}")
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, [*widths, 0], strict=True)).rstrip())


def status(profile: Profile) -> int:
    _print_table(profile, Postgres(profile), Kafka(profile))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua-stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down", "status"):
        p = sub.add_parser(name)
        p.add_argument("--profile", choices=sorted(PROFILES), default="run")
        if name == "up":
            p.add_argument("--infra-only", action="store_true", help="PostgreSQL and Kafka only, no services")
    args = parser.parse_args(argv)
    profile = named_profile(args.profile)
    if args.command == "up":
        try:
            return up(profile, args.infra_only)
        except (RuntimeError, TimeoutError) as e:  # PostgreSQL or Kafka did not start: say why, briefly
            print(f"motcua-stack up: {e}", file=sys.stderr)
            return 1
    if args.command == "down":
        return down(profile)
    return status(profile)


if __name__ == "__main__":
    sys.exit(main())
