"""Who may drive Control: one-shot sign-in links, the session cookie and CSRF checks.

The printed URL carries a sign-in token (``/?token=…``, see ``control.signin``). A ``GET``
presenting it creates a session (an HttpOnly, SameSite=Strict cookie) and spends the token;
the browser is redirected to the same path without the token, and only ever to a path of
this origin (a single leading ``/``; anything else goes to ``/``). Every page and API needs
that cookie. Every state change (any method but GET/HEAD) also needs the session's CSRF
token (``X-CSRF-Token`` header, sent by ``app.js`` on every request it makes) and a
same-origin ``Origin`` (or, when absent, ``Referer``). The ``Host`` header must name the
loopback address Control listens on, which defeats DNS rebinding.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from mimolo.control.responses import refusal_response
from mimolo.control.signin import LINK_TTL_S, LinkTokens, Redeemed

log = logging.getLogger(__name__)

SESSION_COOKIE: Final = "mimolo_session"
CSRF_HEADER: Final = "x-csrf-token"
TOKEN_PARAM: Final = "token"  # noqa: S105 (a query parameter name)
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES: Final = frozenset({"127.0.0.1", "localhost"})
PUBLIC_PREFIXES: Final = ("/static/",)
NEW_LINK_HINT: Final = "Run `mimolo control --new-link` for a fresh sign-in link."
_UNSAFE_PATH_RE: Final = re.compile(r"[\x00-\x1f\x7f\\]")
_PATH_SAFE_CHARS: Final = "/-._~!$&'()*+,;=:@"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Session:
    """One browser's authenticated session: its cookie id and its CSRF token."""

    session_id: str
    csrf_token: str


class Auth:
    """The launch's sign-in links and the live sessions (in memory: a restart logs everyone
    out)."""

    def __init__(
        self,
        secret: bytes | None = None,
        *,
        max_sessions: int = 64,
        link_ttl_s: float = LINK_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.links = LinkTokens(secret, ttl_s=link_ttl_s, clock=clock)
        self._max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    @property
    def secret(self) -> bytes:
        """The launch secret sign-in tokens are made from (``control/launch.json``)."""
        return self.links.secret

    def new_link_token(self) -> str:
        """A fresh one-shot sign-in token."""
        return self.links.mint()

    def redeem(self, presented: str) -> Redeemed:
        """Check a presented sign-in token and spend it when it is good."""
        return self.links.redeem(presented)

    def new_session(self) -> Session:
        """A fresh session; the oldest is dropped past ``max_sessions``."""
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        self._sessions[session.session_id] = session
        while len(self._sessions) > self._max_sessions:
            self._sessions.popitem(last=False)
        return session

    def session_for(self, session_id: str | None) -> Session | None:
        """The session a cookie names, or None."""
        if not session_id:
            return None
        for known_id, session in self._sessions.items():
            if hmac.compare_digest(known_id.encode(), session_id.encode()):
                return session
        return None

    def csrf_ok(self, session: Session, presented: str | None) -> bool:
        """Whether ``presented`` is this session's CSRF token."""
        return presented is not None and hmac.compare_digest(
            presented.encode(), session.csrf_token.encode()
        )


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        out.setdefault(raw_name.decode("latin-1").lower(), raw_value.decode("latin-1"))
    return out


def _cookie(headers: dict[str, str], name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is just "no cookie"
        return None
    morsel = jar.get(name)
    return None if morsel is None else morsel.value


def host_ok(host: str | None, scope: Scope) -> bool:
    """``Host`` must be the loopback name and the port this server is bound to."""
    if not host:
        return False
    name, _, port = host.rpartition(":")
    if not name:
        name, port = host, ""
    server = scope.get("server")
    expected_port = str(server[1]) if server else ""
    return name in LOOPBACK_NAMES and (port == expected_port or (not port and not server))


def same_origin(headers: dict[str, str]) -> bool:
    """The request comes from a page of this very origin (``Origin`` or ``Referer``)."""
    host = headers.get("host", "")
    expected = f"http://{host}"
    origin = headers.get("origin")
    if origin is not None:
        return origin == expected
    referer = headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}" == expected
    return False


def _query(scope: Scope) -> str:
    raw: bytes = scope.get("query_string", b"")
    return raw.decode("latin-1")


def same_origin_path(path: str) -> bool:
    """Whether ``path`` can only mean a path of this origin when used as a ``Location``.

    One leading ``/`` and no second (``//host`` is another origin), no backslash (browsers
    read ``/\\host`` as ``//host``) and no control characters (tabs and newlines are dropped
    by URL parsers, so ``/<TAB>/host`` is ``//host`` too). ``path`` is the decoded path, so
    ``/%2F%2Fhost`` is refused as well.
    """
    return (
        path.startswith("/") and not path.startswith("//") and _UNSAFE_PATH_RE.search(path) is None
    )


def return_location(scope: Scope) -> str:
    """Where a sign-in redirects: the same path and query without the token, or ``/``."""
    path = str(scope.get("path") or "/")
    if not same_origin_path(path):
        log.warning("sign-in redirect to a path that is not same-origin refused: %r", path[:80])
        path = "/"
    query = [(k, v) for k, v in parse_qsl(_query(scope), True) if k != TOKEN_PARAM]
    location = quote(path, safe=_PATH_SAFE_CHARS)
    return location + ("?" + urlencode(query) if query else "")


def _query_token(scope: Scope) -> str | None:
    for key, value in parse_qsl(_query(scope), True):
        if key == TOKEN_PARAM:
            return value
    return None


class AuthMiddleware:
    """ASGI middleware enforcing the rules in this module's docstring."""

    def __init__(self, app: ASGIApp, auth: Auth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        path: str = scope.get("path", "/")
        if not host_ok(headers.get("host"), scope):
            await refusal_response(scope, 403, "Wrong host", "Control answers on 127.0.0.1 only.")(
                scope, receive, send
            )
            return
        if path.startswith(PUBLIC_PREFIXES) and scope.get("method") in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        session = self.auth.session_for(_cookie(headers, SESSION_COOKIE))
        presented = _query_token(scope)
        if presented is not None and scope.get("method") == "GET":
            await self._exchange(scope, receive, send, presented, session)
            return
        if session is None:
            log.info("refused %s %s: no session", scope.get("method"), path)
            await refusal_response(
                scope,
                401,
                "Not signed in",
                "Open Control with the link printed by `mimolo control` or `mimolo up` "
                "(it carries a one-time token). " + NEW_LINK_HINT,
            )(scope, receive, send)
            return
        if scope.get("method") not in SAFE_METHODS:
            if not same_origin(headers):
                log.warning("refused %s %s: cross-origin", scope.get("method"), path)
                await refusal_response(
                    scope, 403, "Cross-site request refused", "The request's origin is not Control."
                )(scope, receive, send)
                return
            if not self.auth.csrf_ok(session, headers.get(CSRF_HEADER)):
                log.warning("refused %s %s: bad CSRF token", scope.get("method"), path)
                await refusal_response(
                    scope, 403, "Missing or wrong CSRF token", "Reload the page and try again."
                )(scope, receive, send)
                return
        scope.setdefault("state", {})["session"] = session
        await self.app(scope, receive, send)

    async def _exchange(
        self, scope: Scope, receive: Receive, send: Send, presented: str, session: Session | None
    ) -> None:
        """Spend a presented sign-in token for a session, then redirect without it.

        A browser that is already signed in is just redirected, whatever the token: opening
        the printed link a second time in the same browser is not an error.
        """
        outcome = self.auth.redeem(presented)
        headers = [(b"location", return_location(scope).encode("latin-1"))]
        if outcome is Redeemed.OK:
            session = self.auth.new_session()
            cookie = f"{SESSION_COOKIE}={session.session_id}; Path=/; HttpOnly; SameSite=Strict"
            headers.append((b"set-cookie", cookie.encode("latin-1")))
        elif session is None:
            log.warning("refused a sign-in token: %s", outcome.value)
            title, detail = _REFUSALS[outcome]
            await refusal_response(scope, 403, title, f"{detail} {NEW_LINK_HINT}")(
                scope, receive, send
            )
            return
        headers += [(b"cache-control", b"no-store"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 303, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


_REFUSALS: Final = {
    Redeemed.WRONG: (
        "Wrong token",
        "This link's token was not made by this Control (it may have restarted since).",
    ),
    Redeemed.EXPIRED: (
        "Link expired",
        f"A sign-in link is valid for {int(LINK_TTL_S // 60)} minutes after it is printed.",
    ),
    Redeemed.SPENT: ("Link already used", "A sign-in link signs in once."),
}


__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Auth",
    "AuthMiddleware",
    "Session",
    "host_ok",
    "return_location",
    "same_origin",
    "same_origin_path",
]
