"""The conformance checker behind ``mimolo agent check``: any executable, through the contract.

Runs the agent command (argv list, never a shell) in its own process group with a temp
data root, walks it through handshake, heartbeats, idle cost, status, flush, widgets,
the stop sequence and shutdown, and returns one row per check. Upstream MiMoLo v0.3
agents pass: ACK-before-summary on a standalone flush, no ``status`` answer (a warning),
a ``log`` instead of an ACK on shutdown.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

from mimolo import APP_VERSION, PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS
from mimolo.protocol.commands import (
    AckCommand,
    FlushCommand,
    SequenceCommand,
    ShutdownCommand,
    StatusCommand,
    WidgetRenderCommand,
)
from mimolo.protocol.messages import (
    HEARTBEAT_METRIC_KEYS,
    ActivitySignal,
    ErrorMessage,
    HandshakeMessage,
    LogMessage,
    SummaryMessage,
    WidgetFrameMessage,
)
from mimolo.sdk.conformance_resources import ResourceMonitor
from mimolo.sdk.driver import AgentDriver, Line, agent_environment, is_ack, is_type, message_type

Result = Literal["PASS", "WARN", "FAIL", "SKIP"]

CHECKS: Final = (
    "handshake",
    "heartbeat",
    "resources",
    "status",
    "flush",
    "widget",
    "sequence",
    "shutdown",
    "stdout",
    "schema",
)
_GARBAGE_REASONS: Final = frozenset({"not_json", "invalid_utf8", "not_object"})
_WIDGET_MAX_BYTES: Final = 64 * 1024


class CheckOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How long to observe and how patient to be."""

    seconds: float = 3.0
    timeout_s: float = 3.0
    heartbeat_interval_s: float = 1.0
    heartbeat_grace_s: float = 2.0
    max_idle_cpu_percent: float = 5.0
    max_rss_mb: float = 200.0
    config: dict[str, Any] = {}


class CheckRow(msgspec.Struct, frozen=True):
    """One line of the report table."""

    check: str
    result: Result
    detail: str


class CheckReport(msgspec.Struct, kw_only=True):
    """The whole run; ``passed`` is False when any row failed."""

    command: list[str]
    passed: bool
    rows: list[CheckRow]
    lines_total: int
    lines_invalid: int
    idle_cpu_percent: float | None
    peak_rss_mb: float | None
    exit_code: int | None
    duration_s: float
    stderr_tail: str

    def row(self, check: str) -> CheckRow:
        """The row for one check name."""
        return next(r for r in self.rows if r.check == check)


def _describe(line: Line) -> str:
    """What a line was, for a report detail."""
    if line.message is not None:
        return message_type(line.message)
    assert line.rejected is not None
    return f"invalid line ({line.rejected.reason})"


class _Run:
    """One checker run over a started driver; each ``check_*`` appends its row."""

    def __init__(self, driver: AgentDriver, options: CheckOptions) -> None:
        self.d = driver
        self.o = options
        self.rows: dict[str, CheckRow] = {}
        self.capabilities: list[str] = []
        self.monitor = ResourceMonitor(driver.pid)

    def add(self, check: str, result: Result, detail: str) -> None:
        """Record the row for one check."""
        self.rows[check] = CheckRow(check, result, detail)

    def check_handshake(self) -> bool:
        """The first line must be a valid handshake; answer it with an ACK."""
        first = self.d.wait_for(lambda _line: True, self.o.timeout_s)
        if first is None:
            closed = self.d.stdout_closed_at is not None
            code = self.d.wait_exit(self.o.timeout_s if closed else 0.1)
            if code is not None:
                self.add("handshake", "FAIL", f"exited with code {code} before a handshake")
            elif closed:
                self.add("handshake", "FAIL", "closed stdout before a handshake")
            else:
                self.add("handshake", "FAIL", f"no output within {self.o.timeout_s:g} s")
            return False
        msg = first.message
        if not isinstance(msg, HandshakeMessage):
            self.add("handshake", "FAIL", f"first line is {_describe(first)}, not a handshake")
            return False
        if msg.protocol_version not in SUPPORTED_PROTOCOL_VERSIONS:
            supported = ", ".join(SUPPORTED_PROTOCOL_VERSIONS)
            self.add(
                "handshake",
                "FAIL",
                f"protocol_version {msg.protocol_version!r} not supported ({supported})",
            )
            return False
        self.capabilities = list(msg.capabilities)
        latency_ms = (first.at - self.d.started_at) * 1000
        self.d.send(AckCommand(app_version=APP_VERSION, protocol_version=PROTOCOL_VERSION))
        self.add(
            "handshake",
            "PASS",
            f"protocol {msg.protocol_version} after {latency_ms:.0f} ms; "
            f"capabilities: {', '.join(msg.capabilities) or 'none'}",
        )
        return True

    def observe_idle(self) -> None:
        """Watch the agent idle for ``seconds``: heartbeats and resource use."""
        first_hb = self.d.wait_for(
            is_type("heartbeat"), self.o.heartbeat_interval_s + self.o.heartbeat_grace_s
        )
        self.monitor.begin()
        deadline = time.monotonic() + self.o.seconds
        while (left := deadline - time.monotonic()) > 0:
            self.monitor.sample()
            if self.d.wait_exit(min(0.5, left)) is not None:
                break
        self.monitor.end()
        self._heartbeat_row(first_hb)
        self._resources_row()

    def _heartbeat_row(self, first: Line | None) -> None:
        """First heartbeat in time, no gap over interval + grace, metrics present."""
        limit = self.o.heartbeat_interval_s + self.o.heartbeat_grace_s
        if first is None:
            self.add("heartbeat", "FAIL", f"no heartbeat within {limit:g} s")
            return
        beats = [line for line in self.d.lines if line.type == "heartbeat"]
        times = [self.d.started_at, *(b.at for b in beats), time.monotonic()]
        gap = max(b - a for a, b in itertools.pairwise(times))
        if gap > limit:
            self.add("heartbeat", "FAIL", f"{gap:.1f} s without a heartbeat (limit {limit:g} s)")
            return
        metrics = first.message.metrics if first.message is not None else None
        have = metrics if isinstance(metrics, dict) else {}
        missing = [key for key in HEARTBEAT_METRIC_KEYS if key not in have]
        detail = f"{len(beats)} heartbeat(s), longest gap {gap:.1f} s"
        if missing:
            self.add("heartbeat", "WARN", f"{detail}; metrics missing: {', '.join(missing)}")
        else:
            self.add("heartbeat", "PASS", f"{detail}; all metrics present")

    def _resources_row(self) -> None:
        """Idle CPU within the limit; RSS reported."""
        cpu, rss = self.monitor.cpu_percent, self.monitor.peak_rss_mb
        if cpu is None or rss is None:
            self.add("resources", "WARN", "the process could not be measured")
            return
        detail = f"idle CPU {cpu:.2f} % over {self.monitor.wall_s:.1f} s, peak RSS {rss:.1f} MB"
        if cpu > self.o.max_idle_cpu_percent:
            self.add("resources", "FAIL", f"{detail} (limit {self.o.max_idle_cpu_percent:g} % CPU)")
        elif rss > self.o.max_rss_mb:
            self.add("resources", "WARN", f"{detail} (over {self.o.max_rss_mb:g} MB)")
        else:
            self.add("resources", "PASS", detail)

    def check_status(self) -> None:
        """A ``status`` command should get a ``status`` answer (missing: WARN)."""
        mark = self.d.mark()
        self.d.send(StatusCommand(id="check-status"))
        answer = self.d.wait_for(is_type("status"), self.o.timeout_s, after=mark)
        if answer is None or answer.message is None:
            self.add("status", "WARN", "no status answer (upstream v0.3 agents ignore status)")
            return
        health = answer.message.health
        self.add("status", "PASS", f"health {health if isinstance(health, str) else 'unset'}")

    def check_flush(self) -> None:
        """A ``flush`` yields a summary and its ACK, in either order."""
        mark = self.d.mark()
        self.d.send(FlushCommand(id="check-flush"))
        deadline = time.monotonic() + self.o.timeout_s
        summary = self.d.wait_for(is_type("summary"), self.o.timeout_s, after=mark)
        ack = self.d.wait_for(is_ack("flush"), max(0.0, deadline - time.monotonic()), after=mark)
        if summary is None or ack is None:
            missing = " and ".join(
                what for what, got in (("summary", summary), ("ACK flush", ack)) if got is None
            )
            self.add("flush", "FAIL", f"no {missing} within {self.o.timeout_s:g} s")
            return
        order = "summary then ACK" if summary.at <= ack.at else "ACK then summary (v0.3 order)"
        message = summary.message
        assert isinstance(message, SummaryMessage)
        signal = message.data.get("activity_signal")
        if signal is None:
            self.add("flush", "WARN", f"{order}; summary has no data.activity_signal")
            return
        try:
            parsed = msgspec.convert(signal, ActivitySignal)
        except msgspec.ValidationError as exc:
            self.add("flush", "FAIL", f"data.activity_signal is invalid: {exc}")
            return
        self.add("flush", "PASS", f"{order}; activity_signal mode {parsed.mode}")

    def check_widget(self) -> None:
        """If advertised, ``widget_render`` yields a bounded ``widget_frame``."""
        if "widget" not in self.capabilities:
            self.add("widget", "SKIP", "widget capability not advertised")
            return
        mark = self.d.mark()
        self.d.send(WidgetRenderCommand(args={"request_id": "check-widget"}, id="check-widget"))

        def answers(line: Line) -> bool:
            """A frame or error for our request id."""
            msg = line.message
            if isinstance(msg, WidgetFrameMessage):
                return msg.data.request_id == "check-widget"
            return isinstance(msg, ErrorMessage) and msg.data.get("request_id") == "check-widget"

        answer = self.d.wait_for(answers, self.o.timeout_s, after=mark)
        if answer is None:
            self.add("widget", "FAIL", "widget capability advertised but widget_render unanswered")
        elif isinstance(answer.message, WidgetFrameMessage):
            size = len(answer.message.data.html.encode())
            stripped = (
                stripped_markup(answer.message.data.html) if size <= _WIDGET_MAX_BYTES else []
            )
            if size > _WIDGET_MAX_BYTES:
                self.add("widget", "FAIL", f"fragment of {size} bytes exceeds 64 KiB")
            elif stripped:
                removed = ", ".join(stripped)
                self.add("widget", "WARN", f"Control's sanitizer would remove: {removed}")
            else:
                self.add("widget", "PASS", f"widget_frame of {size} bytes")
        else:
            assert isinstance(answer.message, ErrorMessage)
            self.add("widget", "WARN", f"render answered with error: {answer.message.message}")

    def check_sequence(self) -> None:
        """``sequence [stop, flush]``: ACK stop, summary, ACK flush, in order."""
        mark = self.d.mark()
        self.d.send(SequenceCommand(sequence=["stop", "flush"], id="check-sequence"))
        self.d.wait_for(is_ack("flush"), self.o.timeout_s, after=mark)
        # A summary that trails its ACK is an ordering fault; wait a moment to name it.
        self.d.wait_for(is_type("summary"), min(1.0, self.o.timeout_s), after=mark)
        seen: list[str] = []
        for line in self.d.lines[mark:]:
            if line.type == "summary":
                seen.append("summary")
            elif is_ack("stop")(line) or is_ack("flush")(line):
                assert line.message is not None
                seen.append(f"ACK {line.message.ack_command}")  # type: ignore[union-attr]
        expected = ["ACK stop", "summary", "ACK flush"]
        got = ", ".join(seen) or "nothing"
        if seen == expected:
            self.add("sequence", "PASS", "ACK stop, summary, ACK flush")
        else:
            self.add("sequence", "FAIL", f"expected {', '.join(expected)}; got {got}")

    def check_shutdown(self) -> int | None:
        """``shutdown`` ends the process within the timeout."""
        mark = self.d.mark()
        self.d.send(ShutdownCommand(id="check-shutdown"))
        code = self.d.wait_exit(self.o.timeout_s)
        if code is None:
            self.add("shutdown", "FAIL", f"still running {self.o.timeout_s:g} s after shutdown")
            return None
        self.d.wait_stdout_closed(self.o.timeout_s)
        acked = any(is_ack("shutdown")(line) for line in self.d.lines[mark:])
        logged = any(isinstance(line.message, LogMessage) for line in self.d.lines[mark:])
        how = "ACK shutdown" if acked else "a log (v0.3 style)" if logged else None
        if code != 0:
            self.add("shutdown", "WARN", f"exited with code {code}")
        elif how is None:
            self.add("shutdown", "WARN", "exited with code 0 but sent no ACK shutdown")
        else:
            self.add("shutdown", "PASS", f"{how}, exit code 0")
        return code

    def line_rows(self) -> int:
        """The ``stdout`` and ``schema`` rows over every line seen; the bad-line count."""
        lines = list(self.d.lines)
        garbage = [ln for ln in lines if ln.rejected and ln.rejected.reason in _GARBAGE_REASONS]
        invalid = [ln for ln in lines if ln.rejected and ln.rejected.reason not in _GARBAGE_REASONS]
        if garbage:
            first = garbage[0].raw[:60]
            self.add("stdout", "FAIL", f"{len(garbage)} non-protocol line(s); first: {first!r}")
        else:
            self.add("stdout", "PASS", f"{len(lines)} line(s), all JSON objects")
        if invalid:
            reasons = sorted({_reason(ln) for ln in invalid})
            self.add("schema", "FAIL", f"{len(invalid)} invalid line(s): {'; '.join(reasons)}")
        else:
            valid = sum(1 for ln in lines if ln.message is not None)
            self.add("schema", "PASS", f"{valid} message(s) valid")
        return len(garbage) + len(invalid)


_TAG_RE: Final = re.compile(r"<\s*([a-zA-Z][a-zA-Z0-9-]*)")


def _markup_names(html: str) -> set[str]:
    """Tag names and ``tag[attribute]`` pairs used in a fragment (a coarse scan)."""
    names = {f"<{t.lower()}>" for t in _TAG_RE.findall(html)}
    for tag in re.finditer(r"<([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>", html):
        for attr in re.findall(r"\s([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=", tag.group(2)):
            names.add(f"{tag.group(1).lower()}[{attr.lower()}]")
    return names


def stripped_markup(html: str) -> list[str]:
    """Tags and attributes Control's sanitizer (DESIGN §8) would remove from a fragment."""
    from mimolo.protocol.widget_html import sanitize_fragment

    return sorted(_markup_names(html) - _markup_names(sanitize_fragment(html)))


def _reason(line: Line) -> str:
    """A rejected line's reason and field."""
    assert line.rejected is not None
    field = f" at {line.rejected.field}" if line.rejected.field else ""
    return f"{line.rejected.reason}{field}"


def _not_started(argv: Sequence[str], why: str, started: float) -> CheckReport:
    """The report for a command that could not even be started."""
    return CheckReport(
        command=list(argv),
        passed=False,
        rows=[CheckRow("handshake", "FAIL", why)],
        lines_total=0,
        lines_invalid=0,
        idle_cpu_percent=None,
        peak_rss_mb=None,
        exit_code=None,
        duration_s=round(time.monotonic() - started, 3),
        stderr_tail="",
    )


def run_check(
    argv: Sequence[str],
    options: CheckOptions | None = None,
    *,
    base_env: Mapping[str, str] | None = None,
) -> CheckReport:
    """Run the agent through every check; the process group is always killed at the end."""
    opts = options or CheckOptions()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mimolo-check-") as tmp:
        data_dir = Path(tmp)
        data_dir.chmod(0o700)
        environ = agent_environment(
            data_dir,
            heartbeat_interval_s=opts.heartbeat_interval_s,
            config=opts.config,
            base=base_env,
        )
        driver = AgentDriver(argv, env=environ)
        try:
            driver.start()
        except OSError as exc:
            return _not_started(argv, f"cannot start the command: {exc}", started)
        run = _Run(driver, opts)
        try:
            if run.check_handshake():
                run.observe_idle()
                run.check_status()
                run.check_flush()
                run.check_widget()
                run.check_sequence()
                run.check_shutdown()
            else:
                for name in CHECKS[1:-2]:
                    run.add(name, "SKIP", "no handshake")
        finally:
            driver.kill()
        invalid = run.line_rows()
    rows = [run.rows[name] for name in CHECKS if name in run.rows]
    return CheckReport(
        command=list(argv),
        passed=all(row.result != "FAIL" for row in rows),
        rows=rows,
        lines_total=len(driver.lines),
        lines_invalid=invalid,
        idle_cpu_percent=run.monitor.cpu_percent,
        peak_rss_mb=run.monitor.peak_rss_mb,
        exit_code=driver.proc.returncode if driver.proc else None,
        duration_s=round(time.monotonic() - started, 3),
        stderr_tail=bytes(driver.stderr[-2000:]).decode("utf-8", "replace"),
    )


__all__ = ["CHECKS", "CheckOptions", "CheckReport", "CheckRow", "Result", "run_check"]
