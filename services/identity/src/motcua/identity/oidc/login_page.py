"""The login page of the authorization step, server-rendered, in Vietnamese.

Every value put in the page goes through ``html.escape`` (the query string of the
authorization request included: it comes from whoever sent the browser here). The form is
protected against cross-site submission by a double-submit token: a random value in a
SameSite cookie that the form must repeat.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse

from motcua.kernel.localtime import VIETNAM

from .accounts import ACCOUNT_DISABLED, BAD_CREDENTIALS, BAD_SECOND_FACTOR, LOCKED, MFA_REQUIRED

CSRF_COOKIE = "motcua_csrf"
CSRF_FIELD = "csrf_token"

MESSAGES = {
    BAD_CREDENTIALS: "Tên đăng nhập hoặc mật khẩu không đúng.",
    MFA_REQUIRED: "Tài khoản này được bảo vệ bằng xác thực hai lớp: nhập mã 6 chữ số từ ứng dụng xác thực "
                  "cùng mật khẩu.",
    BAD_SECOND_FACTOR: "Mã xác thực không đúng hoặc đã được dùng.",
    ACCOUNT_DISABLED: "Tài khoản đã bị vô hiệu hóa. Vui lòng liên hệ cơ quan quản lý.",
    "csrf": "Phiên của trang đăng nhập đã hết hạn. Vui lòng đăng nhập lại.",
    "federation_unlinked": "Chưa có tài khoản công dân nào gắn với số định danh cá nhân này.",
    "federation_failed": "Không đăng nhập được qua nhà cung cấp định danh. Vui lòng thử lại.",
}

PAGE = """<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Đăng nhập</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f6f8; margin: 0; }}
main {{ max-width: 24rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: .5rem; }}
label {{ display: block; margin-top: 1rem; }}
input {{ width: 100%; padding: .5rem; box-sizing: border-box; }}
button, .federation {{ display: block; width: 100%; margin-top: 1.5rem; padding: .6rem; text-align: center; }}
.error {{ color: #b00020; }}
</style>
</head>
<body>
<main>
<h1>Đăng nhập</h1>
<p>để tiếp tục vào <strong>{client}</strong></p>
{error}
<form method="post" action="{action}">
<input type="hidden" name="{csrf_field}" value="{csrf}">
<label for="login">Tên đăng nhập hoặc số định danh cá nhân</label>
<input id="login" name="login" value="{login}" autocomplete="username" required autofocus>
<label for="password">Mật khẩu</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
{totp}
<button type="submit">Đăng nhập</button>
</form>
{federation}
</main>
</body>
</html>
"""

TOTP = """<label for="totp">Mã xác thực (6 chữ số)</label>
<input id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" required>"""


def message(reason: str, locked_until: datetime | None = None) -> str:
    if reason == LOCKED:
        until = f" đến {locked_until.astimezone(VIETNAM):%H:%M ngày %d/%m/%Y}" if locked_until else ""
        return f"Tài khoản tạm thời bị khóa do đăng nhập sai nhiều lần. Vui lòng thử lại{until}."
    return MESSAGES.get(reason, MESSAGES[BAD_CREDENTIALS])


def csrf_token(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def csrf_valid(request: Request, submitted: str) -> bool:
    expected = request.cookies.get(CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected.encode(), submitted.encode())


def render(request: Request, *, client: str, query: str, csrf: str, secure: bool, login: str = "",
           error: str = "", ask_totp: bool = False, federation: str = "", status: int = 200) -> HTMLResponse:
    action = "/oauth2/authorize" + (f"?{query}" if query else "")
    federation_link = ""
    if federation:
        start = "/oauth2/federation/start" + (f"?{query}" if query else "")
        federation_link = f'<a class="federation" href="{escape(start)}">Đăng nhập bằng {escape(federation)}</a>'
    page = PAGE.format(
        client=escape(client), action=escape(action), csrf_field=CSRF_FIELD, csrf=escape(csrf),
        login=escape(login), totp=TOTP if ask_totp else "", federation=federation_link,
        error=f'<p class="error" role="alert">{escape(error)}</p>' if error else "",
    )
    response = HTMLResponse(page, status_code=status, headers={
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "frame-ancestors 'none'",
        "X-Frame-Options": "DENY",
    })
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="lax", secure=secure, path="/oauth2")
    return response


def error_page(title: str, detail: str, status: int = 400) -> HTMLResponse:
    page = (f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f'<body><main><h1>{escape(title)}</h1><p>{escape(detail)}</p></main></body></html>')
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


def confirm_logout(query: str, csrf: str, secure: bool) -> HTMLResponse:
    """Logout without an id_token_hint may come from anywhere: the person confirms it."""
    action = "/oauth2/logout" + (f"?{query}" if query else "")
    page = ('<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Đăng xuất</title></head><body><main>'
            '<h1>Đăng xuất</h1><p>Bạn có muốn đăng xuất khỏi hệ thống không?</p>'
            f'<form method="post" action="{escape(action)}">'
            f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf)}">'
            '<button type="submit">Đăng xuất</button></form></main></body></html>')
    response = HTMLResponse(page, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="lax", secure=secure, path="/oauth2")
    return response
