"""A bounded load on a release, run in a pod of the platform's image by the day-two tests
(tests/k8s/test_chart_under_load.py) while they disrupt the release: dossier flows (submit, then
receive) started at a fixed rate through the gateway's Service, until the file STOP_FILE appears
or MAX_SECONDS pass; then it waits for each acknowledged command's effect and counts.

  python -c "$(cat load_driver.py)" <gateway URL> <flows per second> <max seconds>

Each submission carries a request id of its own; a
command refused (connection refused or reset, timeout, HTTP 5xx, UNAVAILABLE) is retried with the
same request id until acknowledged. A receive retried after an unanswered attempt may find the
dossier received already (FAILED_PRECONDITION naming that state): that is its acknowledgement.
A 401 (identity restarted with new development keys) re-issues the token of the same account.

Prints "load started" once the procedure is known to the dossiers service, then, at the end, one
line "load figures: {json}":
  sent        commands (submissions and receptions) the driver set out to apply
  acknowledged  answered with success (or, for a retried reception, with "received already")
  refused     attempts refused and retried (the same request id)
  unanswered  commands never acknowledged within their retry budget
  applied     acknowledged commands whose effect the read model shows: the dossier listed at the
              run's own desk, received; and the citizen's reception notice
  lost        acknowledged commands whose effect never showed
  duplicated  effects seen more than once: a dossier at the run's desk beyond one per submission
              (each submission is also sent a second time, with its request id, and must be
              answered with the same dossier), two notices of one dossier, template and channel
Standard library plus motcua.deploy.walkthrough (in the image).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
import time
import urllib.error
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from motcua.deploy.walkthrough import OFFICE, Gateway, StepFailed, eventually

STOP_FILE = "/tmp/stop"
RETRY_BUDGET = 300.0  # seconds a command is retried before it counts as unanswered
SETTLE = 180.0  # seconds the effects of acknowledged commands may take to show
RECEIVED = "DOSSIER_STATE_RECEIVED"


class Refused(Exception):
    """The release could not take the command now; retry it as it was."""


class Driver:
    def __init__(self, base_url: str):
        self.gateway = Gateway(base_url, timeout=20.0)
        run = secrets.randbelow(90_000) + 10_000
        self.run = run
        self.desk = f"{run % 1000:03d}.{run // 1000 % 100:02d}.{secrets.randbelow(90) + 10:02d}.H56"
        self.officer_id = str(uuid.uuid4())
        self.citizen_id = str(uuid.uuid4())
        self.tokens: dict[str, str] = {}
        self.lock = threading.Lock()
        self.figures: Counter[str] = Counter()
        self.samples: dict[str, str] = {}
        self.flows: list[dict] = []  # per flow: identity number, dossier id, acknowledged commands

    # -- calls -------------------------------------------------------------------------------
    def _issue(self, who: str) -> str:
        if who == "officer":
            body = {"account_id": self.officer_id, "agency_id": OFFICE, "display_name": "Lê Văn Tâm",
                    "roles": ["ROLE_ADMINISTRATOR", "ROLE_DESK_OFFICER", "ROLE_LEADER"],
                    "grants": [{"role": "ROLE_DESK_OFFICER", "agency_id": self.desk}]}
        else:
            body = {"account_id": self.citizen_id, "roles": ["ROLE_APPLICANT"], "display_name": "Nguyễn Thị Hằng"}
        status, answer = self._send("POST", "/v1/tokens:issueDevelopment", body, None)
        if status != 200:
            raise Refused(f"token: HTTP {status}: {answer}")
        return answer["access_token"]

    def token(self, who: str, renew: bool = False) -> str:
        with self.lock:
            if renew or who not in self.tokens:
                self.tokens[who] = self._issue(who)
            return self.tokens[who]

    def _send(self, method: str, path: str, body: dict | None, token: str | None) -> tuple[int, Any]:
        try:
            status, answer = self.gateway.call(method, path, body, token)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            cause = getattr(e, "reason", e)  # URLError wraps the socket's error
            kind = type(cause if isinstance(cause, BaseException) else e).__name__
            raise Refused(f"{kind}: {e}") from e
        if status >= 500 or "UNAVAILABLE" in json.dumps(answer, ensure_ascii=False)[:2000]:
            raise Refused(f"HTTP {status}: {str(answer)[:300]}")
        return status, answer

    def call(self, who: str, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        """One attempt as `who`, its token renewed once when refused as unauthenticated."""
        status, answer = self._send(method, path, body, self.token(who))
        if status == 401:
            status, answer = self._send(method, path, body, self.token(who, renew=True))
        if status == 401:
            raise Refused(f"HTTP 401: {answer}")
        return status, answer

    def retried(self, what: str, attempt) -> Any:
        """attempt() until it does not raise Refused, within the retry budget."""
        deadline = time.monotonic() + RETRY_BUDGET
        while True:
            try:
                return attempt()
            except Refused as e:
                with self.lock:
                    self.figures["refused"] += 1
                    self.figures["refused " + what] += 1
                    kind = "refusal: " + str(e).split(":", 1)[0]
                    self.figures[kind] += 1
                    first = kind not in self.samples
                    self.samples.setdefault(kind, str(e))
                if first:  # each kind's first answer, to tell a backend's error from a restart
                    print(f"first {kind}: {e}", flush=True)
                if time.monotonic() > deadline:
                    raise StepFailed(f"{what}: unanswered for {RETRY_BUDGET:.0f}s (last: {e})") from e
                time.sleep(1.0)

    # -- setup -------------------------------------------------------------------------------
    def prepare(self) -> None:
        procedure = self.retried("setup", lambda: self._ok(self.call("officer", "POST", "/v1/procedures", {
            "code": f"1.{secrets.randbelow(10**6):06d}.000.00.00.H56", "name": "Đăng ký khai sinh",
            "agency_id": OFFICE, "processing_days": 3})))["procedure"]
        self.procedure_id = procedure["procedure_id"]
        self.retried("setup", lambda: self._ok(self.call(
            "officer", "POST", f"/v1/procedures/{self.procedure_id}:publish", {"expected_version": "1"})))
        # The dossiers service learns of the procedure from Kafka; a probe of it, not a flow.
        eventually("the procedure known to dossiers", lambda: self.retried("setup", lambda: self._ok(self.call(
            "officer", "GET", f"/v1/procedure-replicas/{self.procedure_id}"), allow_missing=True)), timeout=180)

    @staticmethod
    def _ok(reply: tuple[int, Any], allow_missing: bool = False) -> Any:
        status, answer = reply
        if status == 200:
            return answer
        if allow_missing and status in (400, 404):
            return None
        raise StepFailed(f"HTTP {status}: {answer}")

    # -- one flow: submit, then receive ------------------------------------------------------
    def flow(self, number: int) -> None:
        identity_number = f"0{self.run:05d}{number:06d}"
        record: dict[str, Any] = {"identity_number": identity_number, "dossier_id": None, "acknowledged": []}
        with self.lock:
            self.flows.append(record)
            self.figures["sent"] += 1
        request = {"request_id": str(uuid.uuid4()), "procedure_id": self.procedure_id, "agency_id": self.desk,
                   "channel": "SUBMISSION_CHANNEL_ONLINE",
                   "applicant": {"kind": "APPLICANT_KIND_CITIZEN", "account_id": self.citizen_id,
                                 "full_name": f"Trần Văn Đức {number}", "identity_number": identity_number,
                                 "phone": "0912345678"}}
        try:
            dossier = self.retried("submit", lambda: self._ok(self.call("applicant", "POST", "/v1/dossiers:submit",
                                                                          request)))["dossier"]
        except StepFailed as e:
            self._unanswered("submit", e)
            return
        # The same request id once more: the answer must be the same dossier, not a second one.
        again = self.retried("submit", lambda: self._ok(self.call("applicant", "POST", "/v1/dossiers:submit",
                                                                  request)))["dossier"]
        if again["dossier_id"] != dossier["dossier_id"]:
            with self.lock:
                self.figures["answered with another dossier"] += 1
        record["dossier_id"] = dossier["dossier_id"]
        record["acknowledged"].append("submit")
        with self.lock:
            self.figures["acknowledged"] += 1
            self.figures["sent"] += 1

        attempts = 0

        def receive() -> object:
            nonlocal attempts
            attempts += 1
            status, answer = self.call("officer", "POST", f"/v1/dossiers/{dossier['dossier_id']}:receive", {})
            if status == 200:
                return answer
            if attempts > 1 and status == 400 and "received" in json.dumps(answer, ensure_ascii=False).lower():
                return answer  # an earlier attempt was applied and its answer lost
            raise StepFailed(f"receive: HTTP {status}: {answer}")

        try:
            self.retried("receive", receive)
        except StepFailed as e:
            self._unanswered("receive", e)
            return
        record["acknowledged"].append("receive")
        with self.lock:
            self.figures["acknowledged"] += 1

    def _unanswered(self, what: str, error: Exception) -> None:
        with self.lock:
            self.figures["unanswered"] += 1
        print(f"unanswered {what}: {error}", flush=True)

    # -- the load, then the count ------------------------------------------------------------
    def load(self, rate: float, max_seconds: float) -> tuple[float, float]:
        """Flows started at `rate` a second until stopped; returns the seconds spent starting them
        and the seconds until the last one finished."""
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=32) as pool:
            number = 0
            while time.monotonic() - started < max_seconds and not os.path.exists(STOP_FILE):
                pool.submit(self._guarded, number)
                number += 1
                time.sleep(max(0.0, started + number / rate - time.monotonic()))
            sending = time.monotonic() - started
        return sending, time.monotonic() - started - sending

    def _guarded(self, number: int) -> None:
        try:
            self.flow(number)
        except Exception as e:  # noqa: BLE001 - a flow's failure is counted, never lost in a thread
            self._unanswered("flow", e)

    def count(self) -> dict:
        """Waits until every acknowledged effect shows (or SETTLE passes), then counts. The
        listing masks applicants' identity numbers, so dossiers are told apart by id: the run's
        desk is its own, and every dossier listed there came from one of its submissions."""
        def listed() -> dict[str, dict]:
            by_id: dict[str, dict] = {}
            token = ""
            while True:
                path = f"/v1/dossiers?agency_id={self.desk}&page_size=1000" + (f"&page_token={token}" if token else "")
                answer = self.retried("count", lambda path=path: self._ok(self.call("officer", "GET", path)))
                for dossier in answer.get("dossiers", []):
                    by_id[dossier["dossier_id"]] = dossier
                token = answer.get("next_page_token", "")
                if not token:
                    return by_id

        def notices() -> Counter:
            seen: Counter = Counter()
            token = ""
            while True:
                path = (f"/v1/notifications?recipient_account_id={self.citizen_id}&page_size=1000"
                        + (f"&page_token={token}" if token else ""))
                answer = self.retried("count", lambda path=path: self._ok(self.call("applicant", "GET", path)))
                for note in answer.get("notifications", []):
                    seen[(note.get("dossier_id", ""), note.get("template_id", ""), note.get("channel", ""))] += 1
                token = answer.get("next_page_token", "")
                if not token:
                    return seen

        def effects(by_id: dict[str, dict], noticed: set[str]) -> tuple[int, int]:
            applied = lost = 0
            for flow in self.flows:
                dossier = by_id.get(flow["dossier_id"] or "")
                for command in flow["acknowledged"]:
                    if command == "submit":
                        shown = dossier is not None
                    else:  # received: its state moved on, and the citizen got the reception's notice
                        shown = (dossier is not None and dossier["state"] != "DOSSIER_STATE_SUBMITTED"
                                 and flow["dossier_id"] in noticed)
                    applied += shown
                    lost += not shown
            return applied, lost

        deadline = time.monotonic() + SETTLE
        while True:
            by_id, seen = listed(), notices()
            noticed = {dossier_id for dossier_id, _template, _channel in seen}
            applied, lost = effects(by_id, noticed)
            if lost == 0 or time.monotonic() > deadline:
                break
            time.sleep(2.0)

        # A submission applied twice shows as a second dossier at the desk; a submission never
        # acknowledged (unanswered) may have made one dossier, which is not a duplicate.
        acknowledged_ids = {flow["dossier_id"] for flow in self.flows if flow["dossier_id"]}
        unacknowledged_submissions = sum(1 for flow in self.flows if not flow["dossier_id"])
        extra = len(set(by_id) - acknowledged_ids)
        duplicated = max(0, extra - unacknowledged_submissions) + self.figures["answered with another dossier"]
        duplicated += sum(times - 1 for times in seen.values() if times > 1)
        return {"applied": applied, "lost": lost, "duplicated": duplicated, "dossiers listed": len(by_id),
                "notices": sum(seen.values())}


def main(argv: list[str]) -> int:
    base_url, rate, max_seconds = argv[0], float(argv[1]), float(argv[2])
    driver = Driver(base_url)
    driver.prepare()
    print(f"load started: desk {driver.desk}, {rate:g} flows/s, at most {max_seconds:.0f}s", flush=True)
    sending, draining = driver.load(rate, max_seconds)
    finished = time.monotonic()
    counted = driver.count()
    figures: dict = dict(driver.figures)
    figures.update(counted)
    figures.update({"flows": len(driver.flows), "sending s": round(sending, 1),
                    "draining s": round(draining, 1),
                    "settling s": round(time.monotonic() - finished, 1)})
    for key in ("sent", "acknowledged", "refused", "unanswered"):
        figures.setdefault(key, 0)
    print("load figures: " + json.dumps(figures, ensure_ascii=False, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
