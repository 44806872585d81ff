"""Running a reporter subprocess: argv only, one ``generate`` line in, progress and one result out.

The reporter runs in its own session (process group) with a deadline; on timeout, garbage
or any failure the whole group is terminated, then killed. Every way a reporter can go
wrong becomes a ``ReportError`` with a stable code:

    reporter_error      it answered an ``error`` line (its message is shown)
    reporter_crashed    it exited non-zero without one (the stderr tail is shown)
    reporter_garbage    it printed something that is not a protocol line
    reporter_timeout    it ran past the deadline
    reporter_no_result  it exited 0 without a ``result`` line
    reporter_no_output  its result names a file that is not there
    reporter_bad_result the file differs from what the result line claims
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from mimolo.dataroot import FILE_MODE, DataRoot, ensure_private_dir
from mimolo.errors import ConfigError, ReportError
from mimolo.process_group import stop_asyncio_process
from mimolo.reports.documents import zone_of
from mimolo.reports.model import ReportReview, as_report_segment
from mimolo.reports.params import FORMATS
from mimolo.reports.protocol import (
    MAX_LINE_BYTES,
    ErrorLine,
    GenerateRequest,
    ProgressLine,
    ResultLine,
    decode_line,
    encode,
)
from mimolo.slugs import slugify
from mimolo.timeline.models import Segment

logger = logging.getLogger(__name__)

BUILTIN_REPORTERS: dict[str, str] = {
    "timecard": "mimolo.reports.timecard",
    "invoice": "mimolo.reports.invoice",
    "csv": "mimolo.reports.csv",
}
DEFAULT_TIMEOUT_S = 120.0
TERM_GRACE_S = 2.0
STDERR_TAIL_BYTES = 2000

OnProgress = Callable[[float, str], None]


class ReportResult(msgspec.Struct, frozen=True, kw_only=True):
    """A finished report on disk (verified against the reporter's claim)."""

    kind: str
    path: str
    mime: str
    bytes: int
    sha256: str


def reporter_argv(kind: str) -> list[str]:
    """The command of a built-in reporter (never a shell string)."""
    module = BUILTIN_REPORTERS.get(kind)
    if module is None:
        known = ", ".join(sorted(BUILTIN_REPORTERS))
        raise ConfigError(f"unknown report kind {kind!r} (known: {known})", field="kind")
    return [sys.executable, "-m", module]


def _tail(buf: bytearray) -> str:
    text = bytes(buf).decode("utf-8", "replace").strip()
    return f"; stderr: {text[-STDERR_TAIL_BYTES:]}" if text else ""


async def _pump_stderr(stream: asyncio.StreamReader, buf: bytearray) -> None:
    while chunk := await stream.read(65536):
        buf.extend(chunk)
        del buf[: max(0, len(buf) - STDERR_TAIL_BYTES)]


async def _read_lines(
    proc: asyncio.subprocess.Process, on_progress: OnProgress | None
) -> ResultLine | ErrorLine | None:
    assert proc.stdout is not None
    final: ResultLine | ErrorLine | None = None
    while True:
        try:
            raw = await proc.stdout.readline()
        except ValueError:
            raise ReportError(
                f"reporter printed a line over {MAX_LINE_BYTES} bytes", code="reporter_garbage"
            ) from None
        if not raw:
            return final
        if not raw.strip():
            continue
        try:
            line = decode_line(raw)
        except (msgspec.DecodeError, ValueError):
            excerpt = raw[:200].decode("utf-8", "replace").rstrip()
            raise ReportError(
                f"reporter printed garbage: {excerpt!r}", code="reporter_garbage"
            ) from None
        if final is not None:
            raise ReportError("reporter printed more after its final line", code="reporter_garbage")
        if isinstance(line, ProgressLine):
            if on_progress is not None:
                on_progress(line.percent, line.message)
        else:
            final = line


async def run_reporter(
    argv: Sequence[str],
    request: GenerateRequest,
    *,
    on_progress: OnProgress | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    env: dict[str, str] | None = None,
) -> ResultLine:
    """Run one reporter to completion and return its ``result`` line (or raise ReportError)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        limit=MAX_LINE_BYTES,
        env=env,
    )
    assert proc.stdin is not None and proc.stderr is not None
    stderr = bytearray()
    pump = asyncio.create_task(_pump_stderr(proc.stderr, stderr))
    try:
        async with asyncio.timeout(timeout_s):
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(encode(request))
                await proc.stdin.drain()
            proc.stdin.close()
            final = await _read_lines(proc, on_progress)
            code = await proc.wait()
    except TimeoutError:
        raise ReportError(
            f"reporter timed out after {timeout_s:g} s and was stopped", code="reporter_timeout"
        ) from None
    finally:
        await stop_asyncio_process(proc, label=f"reporter pid {proc.pid}", grace_s=TERM_GRACE_S)
        try:
            await asyncio.wait_for(pump, 5.0)
        except TimeoutError:
            pump.cancel()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.close()
            await proc.stdin.wait_closed()
    if isinstance(final, ErrorLine):
        raise ReportError(f"reporter failed: {final.message}", code="reporter_error")
    if code != 0:
        raise ReportError(
            f"reporter exited with status {code}{_tail(stderr)}", code="reporter_crashed"
        )
    if final is None:
        raise ReportError(
            f"reporter exited without a result line{_tail(stderr)}", code="reporter_no_result"
        )
    return final


def verify_output(result: ResultLine, expected: Path) -> None:
    """The reporter must have written ``expected``, exactly as its result line says."""
    if Path(result.path).absolute() != expected.absolute():
        raise ReportError(
            f"reporter claims {result.path}, expected {expected}", code="reporter_bad_result"
        )
    try:
        data = expected.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise ReportError(
            f"reporter wrote nothing at {expected}", code="reporter_no_output"
        ) from None
    if len(data) != result.bytes or hashlib.sha256(data).hexdigest() != result.sha256:
        raise ReportError(
            f"{expected} does not match the reporter's size/sha256", code="reporter_bad_result"
        )
    expected.chmod(FILE_MODE)


def default_output_path(data_root: DataRoot, kind: str, params: dict[str, Any]) -> Path:
    """``<reports_dir>/<kind>-<client|all>-<from>-<to>.<format>`` (local days of the
    report's zone)."""
    client = slugify(str(params.get("client_id") or "all"), "all")
    zone = zone_of(str(params.get("timezone") or "UTC"))
    try:
        first = datetime.fromisoformat(str(params["from"])).astimezone(zone)
        last = (datetime.fromisoformat(str(params["to"])) - timedelta(microseconds=1)).astimezone(
            zone
        )
    except ValueError:
        raise ConfigError("'from' and 'to' must be ISO-8601 times", field="params") from None
    start, end = f"{first:%Y%m%d}", f"{max(first, last):%Y%m%d}"
    return data_root.reports_dir / f"{kind}-{client}-{start}-{end}.{params['format']}"


def prepare_params(data_root: DataRoot, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Fill the format, output path and user template dir; check the format fits the kind."""
    formats = FORMATS.get(kind)
    out = dict(params)
    if formats is not None:
        fmt = out.setdefault("format", formats[0])
        if fmt not in formats:
            raise ConfigError(f"{kind} reports support {', '.join(formats)}", field="format")
    if "from" not in out or "to" not in out:
        raise ConfigError("a report needs a 'from' and a 'to'", field="params")
    output = out.get("output_path") or default_output_path(data_root, kind, out)
    out["output_path"] = str(Path(output).expanduser().absolute())
    templates = data_root.templates_dir
    if templates.is_dir():
        out.setdefault("templates_dir", str(templates))
    return out


async def run_report(
    data_root: DataRoot,
    kind: str,
    params: dict[str, Any],
    segments: Sequence[Segment],
    on_progress: OnProgress | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    argv: Sequence[str] | None = None,
    review: ReportReview | None = None,
) -> ReportResult:
    """Generate one report; the Control web app and ``mimolo report`` both call this.
    ``review`` (from ``mimolo.reports.prepare``) gives the zone and the billing figures."""
    command = list(argv) if argv is not None else reporter_argv(kind)
    full = prepare_params(data_root, kind, params)
    output = Path(full["output_path"])
    ensure_private_dir(output.parent)
    request = GenerateRequest(
        params=msgspec.to_builtins(full),
        segments=[as_report_segment(s) for s in segments],
        review=review,
    )
    logger.info("running %s reporter into %s", kind, output)
    result = await run_reporter(command, request, on_progress=on_progress, timeout_s=timeout_s)
    verify_output(result, output)
    return ReportResult(
        kind=kind, path=str(output), mime=result.mime, bytes=result.bytes, sha256=result.sha256
    )


def run_report_sync(
    data_root: DataRoot,
    kind: str,
    params: dict[str, Any],
    segments: Sequence[Segment],
    on_progress: OnProgress | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    argv: Sequence[str] | None = None,
    review: ReportReview | None = None,
) -> ReportResult:
    """``run_report`` for callers without an event loop (the CLI)."""
    return asyncio.run(
        run_report(
            data_root,
            kind,
            params,
            segments,
            on_progress,
            timeout_s=timeout_s,
            argv=argv,
            review=review,
        )
    )


__all__ = [
    "BUILTIN_REPORTERS",
    "DEFAULT_TIMEOUT_S",
    "OnProgress",
    "ReportResult",
    "default_output_path",
    "prepare_params",
    "reporter_argv",
    "run_report",
    "run_report_sync",
    "run_reporter",
    "verify_output",
]
