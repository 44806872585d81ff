"""The real widget path for browser tests: a probe agent under a real Operations, Control.

A test-only agent template (``widget_probe``) runs under a real Operations process (a small
launcher adds the template and short-lived artifact tokens) and renders, per instance, a
hostile corpus (one case per Refresh), an artifact image, the largest allowed widget, an
oversize frame, the ``<svg><style>`` row bomb, a traversing image reference, no widget at
all, or hangs. Control serves
the dashboard in this process; the canvases fill themselves through ``widgets.js``.
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image
from playwright.sync_api import ConsoleMessage, Page, Request
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from mimolo.dataroot import DataRoot, ensure_private_dir
from mimolo.errors import IpcError, WidgetError
from mimolo.ipc.client import request_sync
from mimolo.operations.widget_preflight import preflight_frame
from protocol.hostile_fragments import HOSTILE_FRAGMENTS
from protocol.hostile_widgets import HOSTILE_WIDGETS, largest_widget

from ._live import DEADLINE_S, LiveControl, live_control, ops_answers, short_data_root, wait_for

TOKEN_TTL_S = 8.0
BIG_IMAGE = "shots/big.png"

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
            choices=(
                "corpus", "isolation", "largest", "rowbomb", "image", "oversize", "traversal",
                "none", "hang",
            ),
        ),
    )
    HERE = Path(__file__).parent


    def load(name):
        return [
            (case, html.encode("utf-8", "replace").decode("utf-8"))
            for case, html in json.loads((HERE / name).read_text())
        ]


    CORPORA = {"corpus": load("probe_cases.json"), "isolation": load("isolation_cases.json")}
    LARGEST = json.loads((HERE / "largest.json").read_text())


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
            if behaviour == "largest":
                return LARGEST
            if behaviour == "rowbomb":  # html.parser sees text; an HTML5 parser, 1,500 rows
                return "<svg><style><table>" + "<tr><td>x</td></tr>" * 1500 + "</table>"
            cases = CORPORA[behaviour]
            case_id, html = cases[self.index % len(cases)]
            marker = f'<p title="probe-marker">case {self.index} {case_id}</p>'
            return f"{marker}<div>{html}</div>"

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

DEFAULT_BEHAVIOURS: Mapping[str, str] = {
    "probe-corpus": "corpus",
    "probe-isolation": "isolation",
    "probe-image": "image",
    "probe-oversize": "oversize",
    "probe-rowbomb": "rowbomb",
    "probe-traversal": "traversal",
    "probe-none": "none",
    "probe-hang": "hang",
}


def probe_config(behaviours: Mapping[str, str]) -> str:
    lines = [
        "[settings]",
        "heartbeat_interval_s = 1.0",
        "agent_flush_interval_s = 600.0",
        "stop_grace_s = 2.0",
        # every Refresh of a corpus writes a summary, far faster than the default
        # evidence budget allows: a test checks that each one reaches the ledger
        "summary_rate_limit_per_s = 0.0",
        "",
    ]
    for instance_id, behaviour in behaviours.items():
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
    behaviours: Mapping[str, str]


def _agents_running(root: DataRoot, instances: Iterator[str] | list[str]) -> bool:
    try:
        data = request_sync(root.socket_path, "get_agent_states", timeout=5.0)
    except (IpcError, OSError):
        return False
    states = {a["instance_id"]: a["state"] for a in data["agents"]}
    return all(states.get(i) == "running" for i in instances)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=DEADLINE_S)


def _put_image(root: DataRoot, instance_id: str, rel: str, size: tuple[int, int]) -> None:
    artifacts = ensure_private_dir(root.instance_dir("widget_probe", instance_id) / "artifacts")
    path = artifacts / rel
    ensure_private_dir(path.parent)
    Image.new("RGB", size, (200, 40, 40)).save(path)


@contextlib.contextmanager
def widget_stack(behaviours: Mapping[str, str] = DEFAULT_BEHAVIOURS) -> Iterator[Stack]:
    """Operations (with the probe template) and Control on a fresh data root."""
    with short_data_root() as root, tempfile.TemporaryDirectory(prefix="probe-") as code:
        code_dir = Path(code)
        (code_dir / "widget_probe_agent.py").write_text(PROBE_AGENT)
        (code_dir / "probe_launcher.py").write_text(LAUNCHER)
        (code_dir / "probe_cases.json").write_text(json.dumps(HOSTILE_FRAGMENTS))
        (code_dir / "isolation_cases.json").write_text(json.dumps(HOSTILE_WIDGETS))
        largest = largest_widget(f"mimolo://artifact/{BIG_IMAGE}")
        (code_dir / "largest.json").write_text(json.dumps(largest))
        root.config_path.write_text(probe_config(behaviours), encoding="utf-8")
        os.chmod(root.config_path, 0o600)
        for instance_id, behaviour in behaviours.items():
            if behaviour == "image":
                _put_image(root, instance_id, "shots/shot.png", (24, 16))
            if behaviour == "largest":
                _put_image(root, instance_id, BIG_IMAGE, (1600, 1200))
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
            wait_for(lambda: _agents_running(root, list(behaviours)), "every probe agent to run")
            with live_control(root) as control:
                wait_for(lambda: control.ops.available, "Control to reach Operations")
                yield Stack(root, control, proc, log_path, behaviours)
        finally:
            _stop(proc)


@dataclass
class Watch:
    """Every request the page made and every console line it printed."""

    base: str
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        """Requests that went anywhere but this Control (on 127.0.0.1)."""
        return [
            u
            for u in self.requests
            if not u.startswith(self.base + "/") or urlsplit(u).hostname != "127.0.0.1"
        ]

    def csp_reports(self) -> list[str]:
        return [c for c in self.console if "Content Security Policy" in c]


def open_dashboard(page: Page, stack: Stack, first: str = "probe-corpus") -> Watch:
    watch = Watch(base=stack.control.base)

    def on_request(request: Request) -> None:
        watch.requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        watch.console.append(message.text)

    page.on("request", on_request)
    page.on("console", on_console)
    page.goto(stack.control.signin_url)
    page.wait_for_selector(f"[data-widget-canvas='{first}']")
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


FRAME_OF = """(sel) => {
    const view = document.querySelector(sel + " [data-widget-view]");
    return (view.shadowRoot || view).querySelector(".w-frame");
}"""
"""A JS function: the widget's own root (inside its shadow root) for a canvas selector."""

MARKER_TEXT = f"""(sel) => {{
    const m = ({FRAME_OF})(sel).querySelector("[title=probe-marker]");
    return m ? m.textContent : "";
}}"""


def marker(page: Page, instance_id: str) -> str:
    """The probe's ``case <n> <id>`` marker shown in a canvas ("" when none)."""
    text: str = page.evaluate(MARKER_TEXT, canvas(instance_id))
    return text


def reaches_page(html: str) -> bool:
    """Whether a probe's case passes Operations' preflight: no artifact reference (the probe
    corpora reference none that exists) and no image whose source is not one."""
    try:
        checked = preflight_frame(f'<p title="probe-marker">case 0 x</p><div>{html}</div>')
    except WidgetError:
        return False
    return not checked.artifact_refs


MARK_PENDING = "(sel) => { document.querySelector(sel).dataset.widgetState = 'pending'; }"


def walk_corpus(
    page: Page,
    instance_id: str,
    cases: Sequence[tuple[str, str]],
    on_shown: Callable[[str], None],
) -> list[str]:
    """Refresh a corpus canvas through every case once; ``on_shown(case_id)`` for each
    case that reached the page. Returns their ids; the others must have been refused by
    Operations' preflight (``render_validation_failed``)."""
    wait_canvas_state(page, instance_id, "ok")
    root = page.locator(canvas(instance_id))
    toggle = root.locator("[data-widget-toggle]")
    toggle.click()  # pause auto-refresh: only our Refresh clicks change the case
    assert toggle.get_attribute("aria-pressed") == "true"
    refresh = root.locator("[data-widget-refresh]")
    start = int(marker(page, instance_id).split()[1])
    shown: list[str] = []
    for step in range(len(cases)):
        index = start + step
        case_id = cases[index % len(cases)][0]
        if step:
            page.evaluate(MARK_PENDING, canvas(instance_id))
            refresh.click()
            try:
                page.wait_for_function(
                    "(sel) => document.querySelector(sel).dataset.widgetState !== 'pending'",
                    arg=canvas(instance_id),
                    timeout=DEADLINE_S * 1000,
                )
            except PlaywrightTimeoutError:
                raise AssertionError(f"case {index} ({case_id}) never rendered") from None
        if root.get_attribute("data-widget-state") == "ok":
            assert marker(page, instance_id) == f"case {index} {case_id}"
            on_shown(case_id)
            shown.append(case_id)
        else:
            # Operations' preflight (image sources must be artifact refs) stopped it first.
            assert root.get_attribute("data-widget-error") == "render_validation_failed", case_id
    return shown


__all__ = [
    "DEFAULT_BEHAVIOURS",
    "FRAME_OF",
    "TOKEN_TTL_S",
    "Stack",
    "Watch",
    "canvas",
    "marker",
    "open_dashboard",
    "reaches_page",
    "wait_canvas_state",
    "walk_corpus",
    "widget_stack",
]
