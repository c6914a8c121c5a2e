"""The core walk-through against a running release, through its gateway only (the chart's
`helm test` pod runs it): publish a procedure, submit and receive a dossier, read the citizen's
notification, sign and verify a PDF. Needs identity.devTokens (development tokens), so it is for
development and staging releases. It runs in the platform's image.

  python -m motcua.deploy.walkthrough --api http://motcua-gateway.motcua.svc.cluster.local:8080

The shared flags of the motcua tools (motcua.kernel.cli_flags): --api (else MOTCUA_API_URL, else
the gateway of `make run`), --tls-ca for an HTTPS gateway whose certificate chains to a private
CA, --version. It logs in with the development tokens itself, so it takes no --token. The URL as
the only argument, as the chart's test pod gave it before, still works.

Prints one line per step and exits non-zero at the first step that fails, saying what it got.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from motcua.kernel import cli_flags

OFFICE = "000.00.10.H56"
APPLICANT_NAME = "Nguyễn Thị Hằng"
PROCEDURE_NAME = "Đăng ký kết hôn"


class StepFailed(Exception):
    pass


class Gateway:
    def __init__(self, base_url: str, timeout: float = 30.0, tls: ssl.SSLContext | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.tls = tls

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json; charset=utf-8")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.tls) as reply:
                return reply.status, json.loads(reply.read() or b"{}")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode("utf-8", "replace")

    def ok(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        status, answer = self.call(method, path, body, token)
        if status != 200:
            raise StepFailed(f"{method} {path}: HTTP {status}: {answer}")
        return answer


def eventually(what: str, attempt: Callable[[], Any], timeout: float = 60.0) -> Any:
    """attempt() until it returns something truthy; its last failure is the report."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = attempt()
            if result:
                return result
            last = result
        except StepFailed as e:
            last = e
        time.sleep(1)
    raise StepFailed(f"{what}: not within {timeout:.0f}s (last: {last})")


def one_page_pdf(text: str) -> bytes:
    """A minimal valid one-page PDF (ASCII content; offsets computed, so the xref is right)."""
    stream = f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def walk(gateway: Gateway, say: Callable[[str], None] = print) -> dict[str, str]:
    run = secrets.randbelow(90_000) + 10_000
    # A desk of its own per run (fresh numbers): the dossier codes never collide with another run's.
    desk = f"{run % 1000:03d}.{run // 1000 % 100:02d}.{secrets.randbelow(90) + 10:02d}.H56"

    def token(body: dict) -> dict:
        return gateway.ok("POST", "/v1/tokens:issueDevelopment", body)

    officer = token({"roles": ["ROLE_ADMINISTRATOR", "ROLE_DESK_OFFICER", "ROLE_LEADER"], "agency_id": OFFICE,
                     "grants": [{"role": "ROLE_DESK_OFFICER", "agency_id": desk}], "display_name": "Lê Văn Tâm"})
    citizen = token({"roles": ["ROLE_APPLICANT"], "display_name": APPLICANT_NAME})
    officer_token, citizen_token, citizen_id = officer["access_token"], citizen["access_token"], citizen["account_id"]
    say("tokens: an officer's and a citizen's")

    procedure = gateway.ok("POST", "/v1/procedures", {
        "code": f"1.{secrets.randbelow(10**6):06d}.000.00.00.H56", "name": PROCEDURE_NAME, "agency_id": OFFICE,
        "processing_days": 3}, officer_token)["procedure"]
    procedure_id = procedure["procedure_id"]
    published = gateway.ok("POST", f"/v1/procedures/{procedure_id}:publish", {"expected_version": "1"}, officer_token)
    if (published["procedure"]["state"], published["procedure"]["name"]) != ("PROCEDURE_STATE_PUBLISHED",
                                                                              PROCEDURE_NAME):
        raise StepFailed(f"publish: {published}")
    say(f"procedure published: {procedure_id}")

    submit = {"procedure_id": procedure_id, "agency_id": desk, "channel": "SUBMISSION_CHANNEL_ONLINE",
              "applicant": {"kind": "APPLICANT_KIND_CITIZEN", "account_id": citizen_id, "full_name": APPLICANT_NAME,
                            "identity_number": "038190001234", "phone": "0912345678"}}

    def submitted() -> dict | None:
        # The dossiers service learns of the procedure from Kafka: FAILED_PRECONDITION until then.
        status, answer = gateway.call("POST", "/v1/dossiers:submit", submit, citizen_token)
        if status == 200:
            return answer
        if status == 400 and "FAILED_PRECONDITION" in json.dumps(answer):
            return None
        raise StepFailed(f"submit: HTTP {status}: {answer}")

    dossier = eventually("the dossier's submission", submitted)["dossier"]
    dossier_id = dossier["dossier_id"]
    if dossier["applicant"]["full_name"] != APPLICANT_NAME:
        raise StepFailed(f"submit: the applicant's name came back as {dossier['applicant']['full_name']!r}")
    say(f"dossier submitted: {dossier['code']}")

    received = gateway.ok("POST", f"/v1/dossiers/{dossier_id}:receive", {}, officer_token)["dossier"]
    if received["state"] != "DOSSIER_STATE_RECEIVED":
        raise StepFailed(f"receive: {received}")
    say(f"dossier received: {received['code']}")

    def notification() -> dict | None:
        answer = gateway.ok("GET", f"/v1/notifications?recipient_account_id={citizen_id}", None, citizen_token)
        return next((n for n in answer.get("notifications", []) if n.get("dossier_id") == dossier_id), None)

    note = eventually("the citizen's notification", notification)
    if received["code"] not in note["body"] or "tiếp nhận" not in note["body"]:
        raise StepFailed(f"notification: {note}")
    say(f"notification read: {note['body'][:80]}")

    pdf = one_page_pdf(f"motcua walk-through {run}")
    signed = gateway.ok("POST", "/v1/documents:sign", {
        "document": base64.b64encode(pdf).decode("ascii"), "reason": "Cấp bản chính", "location": "Thanh Hóa",
        "purpose": "SIGNING_PURPOSE_CERTIFIED_COPY", "document_reference": f"Số chứng thực {run}/SCT"}, officer_token)
    if not base64.b64decode(signed["signed_document"]).startswith(b"%PDF-"):
        raise StepFailed("sign: the answer is not a PDF")
    verified = gateway.ok("POST", "/v1/documents:verify", {"document": signed["signed_document"]}, officer_token)
    statuses = [s["status"] for s in verified.get("signatures", [])]
    if statuses != ["VERIFICATION_STATUS_VALID"]:
        raise StepFailed(f"verify: {verified}")
    say(f"PDF signed and verified: {verified['signatures'][0].get('signer_name', '')}")
    return {"procedure_id": procedure_id, "dossier_id": dossier_id, "code": received["code"]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua.deploy.walkthrough",
                                     description=__doc__.split("\n\n")[0])
    cli_flags.add_api(parser)
    cli_flags.add_tls(parser)
    cli_flags.add_version(parser, "motcua-deploy")
    parser.add_argument("legacy_api", nargs="?", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        gateway = Gateway(args.legacy_api or args.api, tls=cli_flags.ssl_context(args))
    except cli_flags.FlagError as e:
        parser.error(str(e))
    started = time.monotonic()
    try:
        result = walk(gateway)
    except (StepFailed, urllib.error.URLError, OSError, KeyError) as e:
        print(f"walk-through FAILED: {e!r}", file=sys.stderr)
        return 1
    print(f"walk-through passed in {time.monotonic() - started:.1f}s: {json.dumps(result, ensure_ascii=False)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
