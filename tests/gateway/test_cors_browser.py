"""Browsers on other origins: CORS on the gateway and its OIDC endpoints.

A real headless Chromium, driven over the DevTools protocol, opens a single-page application
served from another origin (a port of its own, as a frontend's dev server): the page fetches the
provider's discovery, sends the browser to the login page with a PKCE challenge, a person's
login is typed into the form, and back on the page the code is exchanged for tokens at the token
endpoint and the API is called with the access token, all by the page's own fetch calls, which
Chromium lets through only with the gateway's CORS answers. The same page from an origin that is
not allowed gets nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from google.protobuf import json_format

from motcua.devstack import free_port
from tests.gateway.support import http
from tests.gateway.test_openapi_and_docs import chromium
from tests.identity.oidc_support import CLIENTS, OFFICER, PASSWORD, SERVICE, SERVICE_SECRET, start_behind_gateway
from tests.support.procedures import create_request

PORTAL_PORT = free_port()
PORTAL = f"http://127.0.0.1:{PORTAL_PORT}"
PORTAL_CLIENT = "test-portal"

# The single-page application: everything it does, it does with fetch from its own origin.
APP = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Cổng thử</title></head>
<body><pre id="result">pending</pre>
<script>
const CONFIG = __CONFIG__;
const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\\+/g, "-").replace(/\\//g, "_")
  .replace(/=+$/, "");
const out = (value) => { document.getElementById("result").textContent = JSON.stringify(value); };

async function attempt(url, init) {
  try {
    const response = await fetch(url, init);
    return {status: response.status, body: await response.json(), etag: response.headers.get("ETag")};
  } catch (e) {
    return {blocked: String(e)};  // what a page sees when CORS refuses: a TypeError, no status
  }
}

async function main() {
  const params = new URLSearchParams(location.search);
  const redirectUri = location.origin + "/callback";
  if (CONFIG.mode === "foreign") {  // the page of an origin the gateway does not allow
    out({
      discovery: await attempt(CONFIG.issuer + "/.well-known/openid-configuration"),
      api: await attempt(CONFIG.issuer + "/v1/procedures", {method: "POST",
        headers: {"Authorization": "Bearer " + CONFIG.token, "Content-Type": "application/json"},
        body: JSON.stringify(CONFIG.procedure)}),
    });
    return;
  }
  const discovery = await (await fetch(CONFIG.issuer + "/.well-known/openid-configuration")).json();
  if (!params.has("code")) {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
    sessionStorage.setItem("login", JSON.stringify({verifier, state}));
    location.assign(discovery.authorization_endpoint + "?" + new URLSearchParams({
      response_type: "code", client_id: CONFIG.clientId, redirect_uri: redirectUri, scope: "openid profile api",
      state, code_challenge: b64url(new Uint8Array(digest)), code_challenge_method: "S256"}));
    return;
  }
  const {verifier, state} = JSON.parse(sessionStorage.getItem("login"));
  if (params.get("state") !== state) { out({error: "state mismatch"}); return; }
  const token = await attempt(discovery.token_endpoint, {method: "POST",
    headers: {"Content-Type": "application/x-www-form-urlencoded"},
    body: new URLSearchParams({grant_type: "authorization_code", code: params.get("code"),
      redirect_uri: redirectUri, client_id: CONFIG.clientId, code_verifier: verifier})});
  if (!token.body || !token.body.access_token) { out({token}); return; }
  const headers = {"Authorization": "Bearer " + token.body.access_token, "Content-Type": "application/json",
                   "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"};
  const created = await attempt(CONFIG.issuer + "/v1/procedures",
                                {method: "POST", headers, body: JSON.stringify(CONFIG.procedure)});
  const id = created.body && created.body.procedure && created.body.procedure.procedure_id;
  const read = await attempt(CONFIG.issuer + "/v1/procedures/" + id, {headers});
  out({token_type: token.body.token_type, created, read});
}
main().catch((e) => out({error: String(e)}));
</script></body></html>
"""


class _Pages(ThreadingHTTPServer):
    daemon_threads = True


def serve_app(port: int, config: dict[str, Any]) -> ThreadingHTTPServer:
    """The application's origin: the same page at / and /callback."""
    page = APP.replace("__CONFIG__", json.dumps(config, ensure_ascii=False)).encode("utf-8")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = _Pages(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


GATEWAY_PORT = free_port()
ISSUER = f"http://127.0.0.1:{GATEWAY_PORT}"
DOCS_CLIENT = "test-docs"


@pytest.fixture(scope="module")
def op(stack, tmp_path_factory):
    portal = {"client_id": PORTAL_CLIENT, "client_name": "Cổng dịch vụ công (thử)",
              "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"],
              "redirect_uris": [f"{PORTAL}/callback"], "scope": "openid profile api"}
    docs = {"client_id": DOCS_CLIENT, "client_name": "Tài liệu API", "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code"], "redirect_uris": [f"{ISSUER}/docs/assets/oauth2-redirect.html"],
            "scope": "openid profile api"}
    started = start_behind_gateway(stack, tmp_path_factory.mktemp("cors"), "motcua_identity_cors",
                                   clients=[*CLIENTS, portal, docs], gateway_port=GATEWAY_PORT,
                                   gateway_extra={"MOTCUA_CORS_ALLOWED_ORIGINS": f"{PORTAL},https://desk.example.vn",
                                                  "MOTCUA_DOCS_OIDC_CLIENT_ID": DOCS_CLIENT})
    yield started
    started.stop()


def procedure_json() -> dict:
    return json_format.MessageToDict(create_request(name="Đăng ký kết hôn", agency_id=OFFICER["agency_id"]),
                                     preserving_proto_field_name=True)


DEVTOOLS_PORT: list[int] = []  # the running browser's DevTools endpoint


class DevTools:
    """One Chromium page, driven over the DevTools protocol (the browser's own automation API)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0

    async def send(self, method: str, **params: Any) -> dict:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=60)
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]

    async def evaluate(self, expression: str) -> Any:
        # userGesture: as a person's click, so that a window.open (the login popup) is let through.
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, userGesture=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 60) -> Any:
        """The expression's value once it is truthy (pages load and navigate meanwhile)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = await self.evaluate(expression)
            except AssertionError:  # evaluated while the page was navigating away
                last = None
            if last:
                return last
            await asyncio.sleep(0.2)
        raise AssertionError(f"{expression} stayed {last!r}; page: {await self.evaluate('location.href')}")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Path]:
    """A headless Chromium with its DevTools endpoint on a free port; yields its profile folder."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    process = subprocess.Popen(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HOME": str(tmp_path)})
    try:
        yield profile
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def _open_page(profile: Path) -> tuple[aiohttp.ClientSession, DevTools]:
    port_file = profile / "DevToolsActivePort"
    for _ in range(300):
        if port_file.is_file() and port_file.read_text().strip():
            break
        await asyncio.sleep(0.1)
    port = port_file.read_text().split()[0]
    DEVTOOLS_PORT[:] = [int(port)]
    session = aiohttp.ClientSession(trust_env=False)
    async with session.get(f"http://127.0.0.1:{port}/json/list") as reply:
        targets = await reply.json()
    page = next(t for t in targets if t["type"] == "page")
    ws = await session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
    return session, DevTools(ws)


def run_in_browser(profile: Path, scenario) -> Any:
    async def main() -> Any:
        session, page = await _open_page(profile)
        try:
            return await scenario(page)
        finally:
            await page.ws.close()
            await session.close()

    return asyncio.run(main())


def test_a_page_on_another_origin_logs_in_with_pkce_and_calls_the_api(op, browser: Path):
    server = serve_app(PORTAL_PORT, {"issuer": op.issuer, "clientId": PORTAL_CLIENT, "procedure": procedure_json()})

    async def scenario(page: DevTools) -> dict:
        await page.send("Page.navigate", url=f"{PORTAL}/")
        # The page sent the browser to the provider's login page (the gateway's origin).
        await page.wait_for(f"location.href.startsWith({json.dumps(op.issuer + '/oauth2/')})"
                            " && !!document.querySelector('form input[name=password]')")
        await page.evaluate(
            f"document.querySelector('input[name=login]').value = {json.dumps(OFFICER['login'])};"
            f"document.querySelector('input[name=password]').value = {json.dumps(PASSWORD)};"
            "document.querySelector('form').submit(); true")
        text = await page.wait_for(f"location.origin === {json.dumps(PORTAL)} && "
                                   "document.getElementById('result').textContent !== 'pending' && "
                                   "document.getElementById('result').textContent")
        return json.loads(text)

    try:
        result = run_in_browser(browser, scenario)
    finally:
        server.shutdown()
    assert result.get("token_type") == "Bearer", result
    assert result["created"]["status"] == 200, result
    assert result["created"]["body"]["procedure"]["name"] == "Đăng ký kết hôn"
    assert result["read"]["status"] == 200 and result["read"]["body"]["procedure"]["name"] == "Đăng ký kết hôn"


def test_the_docs_page_logs_in_with_pkce(op, browser: Path):
    """Swagger UI's Authorize: the openIdConnect scheme, the provider's login page in a popup, the
    code exchanged with its PKCE verifier; the docs page then holds an access token."""

    async def scenario(page: DevTools) -> Any:
        await page.send("Page.navigate", url=f"{op.issuer}/docs")
        await page.wait_for("!!document.querySelector('.btn.authorize')")
        await page.evaluate("document.querySelector('.btn.authorize').click(); true")
        await page.wait_for("!!document.querySelector('.auth-container .btn.modal-btn.auth.authorize')")
        # The oidc scheme's form: tick the scopes, then its own Authorize button.
        await page.evaluate(
            "for (const box of document.querySelectorAll('.auth-container input[type=checkbox]')) {"
            "  if (!box.checked) box.click(); }"
            "const buttons = [...document.querySelectorAll('.auth-container .btn.modal-btn.auth.authorize')];"
            "buttons[buttons.length - 1].click(); true")
        popup = await _target(f"{op.issuer}/oauth2/", timeout=15)
        async with aiohttp.ClientSession(trust_env=False) as session:
            ws = await session.ws_connect(popup["webSocketDebuggerUrl"], max_msg_size=0)
            login = DevTools(ws)
            await login.wait_for("!!document.querySelector('form input[name=password]')")
            url = await login.evaluate("location.href")
            await login.evaluate(
                f"document.querySelector('input[name=login]').value = {json.dumps(OFFICER['login'])};"
                f"document.querySelector('input[name=password]').value = {json.dumps(PASSWORD)};"
                "document.querySelector('form').submit(); true")
            await ws.close()
        token = await page.wait_for(
            "(() => { const auth = window.ui.authSelectors.authorized().toJS();"
            " const oidc = Object.values(auth).find((a) => a.token && a.token.access_token);"
            " return oidc ? oidc.token.access_token : ''; })()")
        return url, token

    url, token = run_in_browser(browser, scenario)
    assert "code_challenge_method=S256" in url and f"client_id={DOCS_CLIENT}" in url, url
    # The token the page holds is one the API accepts.
    reply = http("POST", op.issuer + "/v1/procedures", procedure_json(), headers={"Authorization": f"Bearer {token}"})
    assert reply.status == 200, reply.raw


async def _target(prefix: str, timeout: float = 30) -> dict:
    """A page target (a popup) whose URL starts with prefix, from the DevTools endpoint's list."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(trust_env=False) as session:
        while time.monotonic() < deadline:
            async with session.get(f"http://127.0.0.1:{DEVTOOLS_PORT[0]}/json/list") as reply:
                for target in await reply.json():
                    if target["type"] == "page" and target["url"].startswith(prefix):
                        return target
            await asyncio.sleep(0.2)
    raise AssertionError(f"no page opened at {prefix}")


def test_a_page_on_an_origin_not_allowed_gets_nothing(op, browser: Path):
    port = free_port()
    token = _token_of(op)
    server = serve_app(port, {"issuer": op.issuer, "mode": "foreign", "token": token, "procedure": procedure_json()})

    async def scenario(page: DevTools) -> dict:
        await page.send("Page.navigate", url=f"http://127.0.0.1:{port}/")
        text = await page.wait_for("document.getElementById('result').textContent !== 'pending' && "
                                   "document.getElementById('result').textContent")
        return json.loads(text)

    try:
        result = run_in_browser(browser, scenario)
    finally:
        server.shutdown()
    assert "blocked" in result["discovery"] and "blocked" in result["api"], result


def _token_of(op) -> str:
    basic = base64.b64encode(f"{SERVICE}:{SERVICE_SECRET}".encode()).decode()
    reply = http("POST", f"{op.issuer}/oauth2/token", raw=b"grant_type=client_credentials&scope=api",
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"})
    assert reply.status == 200, reply.raw
    return reply.json["access_token"]


# ---------------------------------------------------------------- the headers, as HTTP


def preflight(op, path: str, origin: str, method: str = "POST", headers: str = "authorization,content-type"):
    return http("OPTIONS", op.issuer + path, headers={
        "Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers})


@pytest.mark.parametrize("path", ["/v1/procedures", "/oauth2/token", "/.well-known/openid-configuration"])
def test_a_preflight_from_an_allowed_origin_names_methods_and_headers(op, path: str):
    reply = preflight(op, path, PORTAL, headers="authorization,content-type,if-match,last-event-id,traceparent")
    assert reply.status == 200, reply.raw
    assert reply.headers["access-control-allow-origin"] == PORTAL
    assert {"GET", "POST", "PATCH", "DELETE"} <= set(reply.headers["access-control-allow-methods"].split(", "))
    allowed = {h.lower() for h in reply.headers["access-control-allow-headers"].split(", ")}
    assert {"authorization", "content-type", "if-match", "last-event-id", "traceparent"} <= allowed
    assert "access-control-allow-credentials" not in reply.headers  # tokens travel in Authorization, not cookies
    assert int(reply.headers["access-control-max-age"]) > 0
    assert "Origin" in reply.headers["vary"]


def test_an_origin_not_allowed_gets_no_cors_header(op):
    refused = preflight(op, "/v1/procedures", "http://evil.example")
    assert refused.status == 403 and refused.json["error"]["status"] == "PERMISSION_DENIED"
    assert "http://evil.example" in refused.json["error"]["message"]
    simple = http("GET", op.issuer + "/.well-known/openid-configuration", headers={"Origin": "http://evil.example"})
    assert simple.status == 200
    for reply in (refused, simple):
        assert not [h for h in reply.headers if h.startswith("access-control-")], reply.headers
        assert "Origin" in reply.headers["vary"]


def test_answers_to_an_allowed_origin_errors_included_carry_the_headers(op):
    ok = http("GET", op.issuer + "/.well-known/openid-configuration", headers={"Origin": "https://desk.example.vn"})
    refused = http("POST", op.issuer + "/v1/procedures", {}, headers={"Origin": PORTAL})  # no token: 401
    missing = http("GET", op.issuer + "/v1/nothing-here", headers={"Origin": PORTAL})
    assert (ok.status, refused.status, missing.status) == (200, 401, 404)
    assert ok.headers["access-control-allow-origin"] == "https://desk.example.vn"
    for reply in (refused, missing):
        assert reply.headers["access-control-allow-origin"] == PORTAL
        assert "ETag" in reply.headers["access-control-expose-headers"]


def test_cors_origins_are_checked_when_the_gateway_starts():
    from motcua.gateway.config import GatewaySettings
    from motcua.kernel.config import ConfigError

    settings = GatewaySettings.from_env({"MOTCUA_CORS_ALLOWED_ORIGINS": " http://127.0.0.1:5173 , HTTPS://Portal.example.vn"})
    assert settings.cors_allowed_origins == ("http://127.0.0.1:5173", "https://portal.example.vn")
    for bad in ("*", "https://portal.example.vn/app", "portal.example.vn", "ftp://x.example", "http://x:99999"):
        with pytest.raises(ConfigError, match="MOTCUA_CORS_ALLOWED_ORIGINS"):
            GatewaySettings.from_env({"MOTCUA_CORS_ALLOWED_ORIGINS": bad})
