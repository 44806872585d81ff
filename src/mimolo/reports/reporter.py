"""The reporter side of the protocol: what ``python -m mimolo.reports.<name>`` runs.

``serve`` reads the one ``generate`` line, calls the reporter's pure ``build`` function
(which returns the document bytes), writes the file 0600 at ``params.output_path`` and
answers ``result``; any failure is answered with one ``error`` line and a non-zero exit.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import msgspec

from mimolo.dataroot import write_atomic
from mimolo.errors import MimoloError
from mimolo.reports.params import MIME, ReportParams, parse_params
from mimolo.reports.protocol import (
    MAX_LINE_BYTES,
    ErrorLine,
    GenerateRequest,
    ProgressLine,
    ReporterLine,
    ResultLine,
    decode_request,
    encode,
)

Progress = Callable[[float, str], None]
Build = Callable[[GenerateRequest, ReportParams, Progress], bytes]


class _Out:
    """Protocol lines to stdout, flushed one by one so the runner sees progress live."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def send(self, line: ReporterLine) -> None:
        self._stream.write(encode(line))
        self._stream.flush()

    def progress(self, percent: float, message: str) -> None:
        self.send(ProgressLine(percent=max(0.0, min(100.0, percent)), message=message))


def write_output(path: Path, payload: bytes, mime: str) -> ResultLine:
    """Write the document atomically (0600) and describe it."""
    write_atomic(path, payload)
    return ResultLine(
        path=str(path), mime=mime, bytes=len(payload), sha256=hashlib.sha256(payload).hexdigest()
    )


def serve(build: Build, *, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Answer one ``generate`` request; returns the process exit status."""
    out = _Out(stdout or sys.stdout.buffer)
    line = (stdin or sys.stdin.buffer).readline(MAX_LINE_BYTES + 1)
    try:
        request = decode_request(line)
        params = parse_params(request.params)
    except (msgspec.DecodeError, ValueError) as exc:
        out.send(ErrorLine(message=f"invalid generate request: {exc}"))
        return 2
    except MimoloError as exc:
        out.send(ErrorLine(message=exc.message))
        return 2
    try:
        out.progress(0, "starting")
        payload = build(request, params, out.progress)
        out.progress(95, "writing")
        result = write_output(Path(params.output_path), payload, MIME[params.format])
    except MimoloError as exc:
        out.send(ErrorLine(message=exc.message))
        return 1
    except Exception as exc:  # a bug in the reporter: still one clear protocol answer
        out.send(ErrorLine(message=f"reporter failed: {type(exc).__name__}: {exc}"))
        return 1
    out.progress(100, "done")
    out.send(result)
    return 0


def run(build: Build) -> None:
    """Entry point for ``__main__``: serve stdin/stdout and exit with the status."""
    raise SystemExit(serve(build))


__all__ = ["Build", "Progress", "run", "serve", "write_output"]
