"""Widgets end to end in a real browser: agent → Operations → Control → Chromium.

A test-only agent template (``widget_probe``) runs under a real Operations process (a small
launcher adds the template and short-lived artifact tokens) and renders, per instance, the
hostile corpus, an artifact image, an oversize frame, a traversing image reference, no
widget at all, or hangs. Control serves the dashboard; the canvases fill themselves through
``widgets.js``. The page carries canaries: no script may run, no request may leave for a
non-token URL, and the CSP must never have had to block anything (the sanitizer did it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import ConsoleMessage, Page, Request
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from mimolo.dataroot import DataRoot, ensure_private_dir
from mimolo.errors import IpcError
from mimolo.ipc.client import request_sync
from protocol.hostile_fragments import CANARY_HOST, HOSTILE_FRAGMENTS

from ._live import DEADLINE_S, LiveControl, live_control, ops_answers, short_data_root, wait_for

pytestmark = pytest.mark.browser

TOKEN_TTL_S = 8.0
ALLOWED_TAGS = [
    *("div", "section", "article", "header", "footer", "h1", "h2", "h3", "p", "span"),
    *("ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td"),
    *("figure", "figcaption", "img", "a"),
]

PROBE_AGENT = textwrap.dedent(
    '''
    """A test-only agent whose widget misbehaves on purpose (``behaviour`` param)."""
    import json
    import time
    from pathlib import Path
    from typing import Any, ClassVar

    from mimolo.sdk import BaseAgent, Param, WidgetRequest, activity_signal

    PARAMS = (
        Param(
            name="behaviour",
            type="choice",
            default="corpus",
            choices=("corpus", "image", "oversize", "traversal", "none", "hang"),
        ),
    )
    CASES = [
        (case, html.encode("utf-8", "replace").decode("utf-8"))
        for case, html in json.loads(Path(__file__).with_name("probe_cases.json").read_text())
    ]


    class ProbeAgent(BaseAgent):
        plugin_id: ClassVar[str] = "widget_probe"
        agent_version: ClassVar[str] = "1.0.0"
        params: ClassVar[tuple[Param, ...]] = PARAMS
        sample_interval_s: ClassVar[float | None] = None
        widget_ttl_ms: ClassVar[int] = 0
        index = 0

        def snapshot(self, now: Any) -> Any:
            return self.index

        def summarize(self, snapshot: Any, start: Any, end: Any) -> dict[str, Any]:
            return {"activity_signal": activity_signal("passive"), "case": snapshot}

        def render_widget(self, request: WidgetRequest) -> str | None:
            behaviour = self.config["behaviour"]
            if behaviour == "none":
                return None
            if behaviour == "hang":
                time.sleep(20)
            if behaviour == "oversize":
                return "<p>" + "x" * 70000 + "</p>"
            if behaviour == "traversal":
                return '<img alt="t" src="mimolo://artifact/../../probe-image/artifacts/a.png">'
            if behaviour == "image":
                return (
                    '<figure><img alt="shot" src="mimolo://artifact/shots/shot.png">'
                    "<figcaption>shot</figcaption></figure>"
                )
            case_id, html = CASES[self.index % len(CASES)]
            marker = f'<p class="probe-marker">case {self.index} {case_id}</p>'
            return f'{marker}<div class="probe-case">{html}</div>'

        def handle_widget_action(self, action: str, args: dict[str, Any]) -> None:
            if action == "refresh":
                self.index += 1
                return
            super().handle_widget_action(action, args)


    if __name__ == "__main__":
        ProbeAgent.main()
    '''
)

LAUNCHER = textwrap.dedent(
    '''
    """Operations with the widget_probe template and short-lived artifact tokens."""
    import asyncio
    import sys

    from mimolo.protocol.templates import AgentTemplate
    from mimolo.dataroot import DataRoot
    from mimolo.operations.artifact_tokens import ArtifactTokenStore
    from mimolo.operations.config import builtin_resolver
    from mimolo.ipc.server.api import control_socket_service
    from mimolo.operations.service import Operations
    from mimolo.operations.widget_bridge import WidgetBridge
    from widget_probe_agent import PARAMS

    TEMPLATE = AgentTemplate(
        plugin_id="widget_probe",
        label="Widget probe",
        description="test-only agent with a misbehaving widget",
        version="1.0.0",
        module="widget_probe_agent",
        params=PARAMS,
        builtin=False,
    )
    builtin = builtin_resolver()


    def resolve(template_id):
        return TEMPLATE if template_id == "widget_probe" else builtin(template_id)


    async def short_tokens(ops):
        ops.supervisor.message_hook = WidgetBridge(
            ops.data_root,
            send=ops.supervisor.send_command,
            tokens=ArtifactTokenStore(ops.data_root, ttl_s=float(sys.argv[2])),
            diagnostics=ops.diagnostics,
        )
        await asyncio.Event().wait()


    ops = Operations(
        DataRoot.resolve(sys.argv[1]),
        resolve=resolve,
        extra_services=[short_tokens, control_socket_service],
    )
    asyncio.run(ops.run())
    '''
)

BEHAVIOURS = {
    "probe-corpus": "corpus",
    "probe-image": "image",
    "probe-oversize": "oversize",
    "probe-traversal": "traversal",
    "probe-none": "none",
    "probe-hang": "hang",
}


def probe_config() -> str:
    lines = [
        "[settings]",
        "heartbeat_interval_s = 1.0",
        "agent_flush_interval_s = 600.0",
        "stop_grace_s = 2.0",
        # every Refresh of the corpus writes a summary, far faster than the default
        # evidence budget allows: this test checks that each one reaches the ledger
        "summary_rate_limit_per_s = 0.0",
        "",
    ]
    for instance_id, behaviour in BEHAVIOURS.items():
        lines += [
            f"[instances.{instance_id}]",
            'template = "widget_probe"',
            f'label = "{instance_id}"',
            f"[instances.{instance_id}.params]",
            f'behaviour = "{behaviour}"',
            "",
        ]
    return "\n".join(lines)


@dataclass
class Stack:
    """The running Operations + Control pair and where things are."""

    root: DataRoot
    control: LiveControl
    proc: subprocess.Popen[bytes]
    log_path: Path


def _agents_running(root: DataRoot) -> bool:
    try:
        data = request_sync(root.socket_path, "get_agent_states", timeout=5.0)
    except (IpcError, OSError):
        return False
    states = {a["instance_id"]: a["state"] for a in data["agents"]}
    return all(states.get(i) == "running" for i in BEHAVIOURS)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=DEADLINE_S)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """Operations (with the probe template) and Control on a fresh data root."""
    with short_data_root() as root, tempfile.TemporaryDirectory(prefix="probe-") as code:
        code_dir = Path(code)
        (code_dir / "widget_probe_agent.py").write_text(PROBE_AGENT)
        (code_dir / "probe_launcher.py").write_text(LAUNCHER)
        (code_dir / "probe_cases.json").write_text(json.dumps(HOSTILE_FRAGMENTS))
        root.config_path.write_text(probe_config(), encoding="utf-8")
        os.chmod(root.config_path, 0o600)
        shot = ensure_private_dir(root.instance_dir("widget_probe", "probe-image") / "artifacts")
        ensure_private_dir(shot / "shots")
        Image.new("RGB", (24, 16), (200, 40, 40)).save(shot / "shots" / "shot.png")
        log_path = root.root.parent / "ops-console.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIMOLO_")}
        env["PYTHONPATH"] = os.pathsep.join(
            [str(code_dir), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        with open(log_path, "ab") as log_file:
            proc = subprocess.Popen(
                [sys.executable, str(code_dir / "probe_launcher.py"), str(root.root), "8"],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                env=env,
                start_new_session=True,
            )
        try:
            wait_for(lambda: ops_answers(root) or proc.poll() is not None, "Operations")
            assert proc.poll() is None, log_path.read_text()[-3000:]
            wait_for(lambda: _agents_running(root), "every probe agent to run")
            with live_control(root) as control:
                wait_for(lambda: control.ops.available, "Control to reach Operations")
                yield Stack(root=root, control=control, proc=proc, log_path=log_path)
        finally:
            _stop(proc)


@dataclass
class Watch:
    """Every request the page made and every console line it printed."""

    base: str
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(self.base + "/")]

    def csp_reports(self) -> list[str]:
        return [c for c in self.console if "Content Security Policy" in c]


def open_dashboard(page: Page, stack: Stack) -> Watch:
    watch = Watch(base=stack.control.base)

    def on_request(request: Request) -> None:
        watch.requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        watch.console.append(message.text)

    page.on("request", on_request)
    page.on("console", on_console)
    page.goto(stack.control.signin_url)
    page.wait_for_selector("[data-widget-canvas='probe-corpus']")
    page.evaluate("() => { window.__pwned = 'untouched'; }")
    return watch


def canvas(instance_id: str) -> str:
    return f"[data-widget-canvas='{instance_id}']"


def wait_canvas_state(page: Page, instance_id: str, state: str, error: str | None = None) -> None:
    page.wait_for_function(
        """([sel, state, error]) => {
            const c = document.querySelector(sel);
            return c && c.dataset.widgetState === state
                && (error === null || c.dataset.widgetError === error);
        }""",
        arg=[canvas(instance_id), state, error],
        timeout=DEADLINE_S * 1000,
    )


DOM_AUDIT = """([sel, allowedTags]) => {
    const allowed = new Set(allowedTags);
    const bad = [];
    const body = document.querySelector(sel + " [data-widget-body]");
    for (const el of body.querySelectorAll("*")) {
        const tag = el.tagName.toLowerCase();
        if (!allowed.has(tag)) bad.push("tag " + tag);
        for (const attr of el.attributes) {
            const ok = ["class", "title", "alt", "src", "rel"].includes(attr.name)
                || attr.name.startsWith("aria-");
            if (!ok) bad.push("attr " + attr.name);
            if (attr.name === "src" && !attr.value.startsWith("/artifacts/")) {
                bad.push("src " + attr.value);
            }
        }
    }
    return bad;
}"""


MARK_PENDING = "(sel) => { document.querySelector(sel).dataset.widgetState = 'pending'; }"


def test_hostile_corpus_renders_harmlessly_in_the_page(page: Page, stack: Stack) -> None:
    watch = open_dashboard(page, stack)
    title = page.title()
    wait_canvas_state(page, "probe-corpus", "ok")
    toggle = page.locator(f"{canvas('probe-corpus')} [data-widget-toggle]")
    toggle.click()  # pause auto-refresh: only our Refresh clicks change the case
    assert toggle.get_attribute("aria-pressed") == "true"
    refresh = page.locator(f"{canvas('probe-corpus')} [data-widget-refresh]")
    first = page.locator(f"{canvas('probe-corpus')} .probe-marker").text_content() or ""
    start = int(first.split()[1])
    reached_page = 0
    for step in range(len(HOSTILE_FRAGMENTS)):
        index = start + step
        case_id = HOSTILE_FRAGMENTS[index % len(HOSTILE_FRAGMENTS)][0]
        if step:
            page.evaluate(MARK_PENDING, canvas("probe-corpus"))
            refresh.click()
            try:
                page.wait_for_function(
                    "(sel) => document.querySelector(sel).dataset.widgetState !== 'pending'",
                    arg=canvas("probe-corpus"),
                    timeout=DEADLINE_S * 1000,
                )
            except PlaywrightTimeoutError:
                pytest.fail(f"case {index} ({case_id}) never rendered")
        root = page.locator(canvas("probe-corpus"))
        if root.get_attribute("data-widget-state") == "ok":
            marker = root.locator(".probe-marker").text_content()
            assert marker == f"case {index} {case_id}"
            assert page.evaluate(DOM_AUDIT, [canvas("probe-corpus"), ALLOWED_TAGS]) == [], case_id
            reached_page += 1
        else:
            # Operations' preflight (image sources must be artifact refs) stopped it first.
            assert root.get_attribute("data-widget-error") == "render_validation_failed", case_id
    assert reached_page >= 60  # most of the corpus reaches the sanitizer and the page
    page.wait_for_timeout(500)  # let anything that might fire (onerror, timers) fire
    assert page.evaluate("() => window.__pwned") == "untouched"
    assert page.title() == title
    assert watch.foreign_requests() == []
    assert not any(CANARY_HOST in url for url in watch.requests)
    assert watch.csp_reports() == []

    # Each Refresh was a widget action that flushed a summary into the evidence at once.
    def summaries() -> int:
        path = stack.root.evidence_file(datetime.now(UTC).date())
        if not path.exists():
            return 0
        lines = path.read_text().splitlines()
        return sum(1 for line in lines if '"instance_id":"probe-corpus"' in line)

    wait_for(lambda: summaries() >= len(HOSTILE_FRAGMENTS) - 1, "refresh summaries in evidence")


def _fetch(page: Page, url: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        """async (url) => {
            const r = await fetch(url, {credentials: "same-origin"});
            const type = r.headers.get("content-type") || "";
            const body = type.startsWith("image/") ? "" : await r.text();
            return {status: r.status, type, body, csp: r.headers.get("content-security-policy")};
        }""",
        url,
    )
    return result


def _fresh_image_src(page: Page) -> str:
    data = page.evaluate(
        """async () => {
            const r = await fetch("/api/widgets/probe-image/render?force=1", {
                credentials: "same-origin", headers: {Accept: "application/json"}});
            return await r.json();
        }"""
    )
    assert data["ok"], data
    html: str = data["html"]
    return html.split('src="')[1].split('"')[0]


def test_artifact_images_travel_only_as_scoped_expiring_tokens(page: Page, stack: Stack) -> None:
    watch = open_dashboard(page, stack)
    wait_canvas_state(page, "probe-image", "ok")
    page.wait_for_function(
        "(sel) => { const i = document.querySelector(sel + ' img');"
        " return i && i.complete && i.naturalWidth === 24; }",
        arg=canvas("probe-image"),
        timeout=DEADLINE_S * 1000,
    )
    src = _fresh_image_src(page)
    assert src.startswith("/artifacts/probe-image/")
    token = src.rsplit("/", 1)[1]
    served = _fetch(page, src)
    assert served["status"] == 200 and served["type"] == "image/png"
    assert "sandbox" in served["csp"]

    foreign = _fetch(page, f"/artifacts/probe-corpus/{token}")
    assert (foreign["status"], foreign["body"]) == (404, "artifact_scope_mismatch")
    unknown = _fetch(page, "/artifacts/probe-image/" + "A" * 32)
    assert (unknown["status"], unknown["body"]) == (404, "artifact_token_unknown")
    assert _fetch(page, "/artifacts/probe-image/..%2F..%2Fops.lock")["status"] == 404
    assert _fetch(page, "/artifacts/..%2Foperations/" + token)["status"] == 404

    deadline = time.monotonic() + DEADLINE_S
    expired = served
    while time.monotonic() < deadline:
        expired = _fetch(page, src)
        if expired["status"] != 200:
            break
        page.wait_for_timeout(500)
    assert (expired["status"], expired["body"]) == (404, "artifact_token_expired")

    # Without the session cookie, a live token is worthless.
    fresh = _fresh_image_src(page)
    with stack.control.client(signed_in=False) as anonymous:
        assert anonymous.get(fresh).status_code == 401
    artifact_requests = [u for u in watch.requests if "/artifacts/" in u]
    assert artifact_requests and all(
        u.startswith(f"{stack.control.base}/artifacts/") for u in artifact_requests
    )
    assert watch.foreign_requests() == []


@pytest.mark.parametrize(
    ("instance_id", "code"),
    [
        ("probe-oversize", "render_payload_too_large"),
        ("probe-traversal", "render_validation_failed"),
        ("probe-none", "widget_not_supported"),
    ],
)
def test_refused_frames_show_their_code_in_the_canvas(
    page: Page, stack: Stack, instance_id: str, code: str
) -> None:
    open_dashboard(page, stack)
    wait_canvas_state(page, instance_id, "error", code)
    text = page.locator(f"{canvas(instance_id)} [data-widget-body]").text_content() or ""
    assert code in text
    # The failure stays inside its canvas: the rest of the dashboard is intact.
    wait_canvas_state(page, "probe-image", "ok")
    assert page.locator("#cards article.card").count() == len(BEHAVIOURS)


def test_hung_agent_times_out_while_the_dashboard_keeps_working(page: Page, stack: Stack) -> None:
    open_dashboard(page, stack)
    wait_canvas_state(page, "probe-hang", "error", "render_timeout")
    # Other canvases still answer, and their manual refresh still works.
    before = page.locator(f"{canvas('probe-corpus')} .probe-marker").text_content() or ""
    page.locator(f"{canvas('probe-corpus')} [data-widget-refresh]").click()
    page.wait_for_function(
        "([sel, before]) => { const m = document.querySelector(sel + ' .probe-marker');"
        " return m && m.textContent !== before; }",
        arg=[canvas("probe-corpus"), before],
        timeout=DEADLINE_S * 1000,
    )
    # The cards region keeps updating around the canvases (the canvas survives swaps).
    page.wait_for_function(
        "(n) => document.querySelectorAll('[data-widget-canvas]').length === n",
        arg=len(BEHAVIOURS),
    )
    assert page.locator("[data-widget-slot] [data-widget-canvas]").count() == len(BEHAVIOURS)


def test_pause_and_play_toggle_auto_refresh(page: Page, stack: Stack) -> None:
    open_dashboard(page, stack)
    wait_canvas_state(page, "probe-image", "ok")
    root = page.locator(canvas("probe-image"))
    toggle = root.locator("[data-widget-toggle]")
    assert root.get_attribute("data-widget-playing") == "true"
    toggle.click()
    assert root.get_attribute("data-widget-playing") == "false"
    assert toggle.text_content() == "Play"
    toggle.click()
    assert root.get_attribute("data-widget-playing") == "true"
    assert toggle.text_content() == "Pause"
