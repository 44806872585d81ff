"""The capture thread: one capture per interval (or on request), retries with backoff.

The agent's main loop never waits on a capture: results and problems arrive through
callbacks, and a hung screen or window query only ever holds this thread's helper.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

import msgspec
from PIL import Image

from mimolo.agents.screen_tracker.capture import (
    TimedCall,
    active_window_rect,
    active_window_support,
    grab_monitor,
)
from mimolo.agents.screen_tracker.imaging import (
    EXTENSION,
    MIME,
    ImageFormat,
    Rect,
    encode,
    redact,
    shrink,
)
from mimolo.agents.screen_tracker.store import CaptureRecord, CaptureStore
from mimolo.errors import CaptureUnavailable

logger = logging.getLogger(__name__)

MIN_RETRY_S = 2.0
MAX_RETRY_S = 600.0
STOP_JOIN_S = 5.0


class CaptureSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a capture needs, from the instance's parameters."""

    mode: str = "full_screen"
    image_format: ImageFormat = "webp"
    quality: int = 70
    scale: float = 0.5
    max_dimension: int = 1600
    regions: tuple[Rect, ...] = ()
    monitor: int = 1
    timeout_s: float = 10.0
    retention_class: str = "standard"


class CaptureOutcome(msgspec.Struct, frozen=True):
    """A stored capture and, when it was not what was asked for, why."""

    record: CaptureRecord
    degraded: str | None = None


class Capturer:
    """Performs one capture: grab (with timeouts), redact, shrink, encode, store."""

    def __init__(self, settings: CaptureSettings, store: CaptureStore) -> None:
        self.settings = settings
        self.store = store
        self._grab: TimedCall[tuple[Image.Image, tuple[int, int]]] = TimedCall("screen grab")
        self._window: TimedCall[Rect] = TimedCall("window query")

    def capture(self, now: datetime) -> CaptureOutcome:
        """Take, process and store one capture; CaptureUnavailable when impossible."""
        s = self.settings
        region: Rect | None = None
        degraded: str | None = None
        if s.mode == "active_window":
            degraded = active_window_support()
            if degraded is None:
                try:
                    region = self._window(lambda: active_window_rect(s.timeout_s), s.timeout_s)
                except CaptureUnavailable as exc:
                    degraded = f"active window unavailable ({exc}); captured the full screen"
            else:
                degraded += "; capturing the full screen instead"
        image, offset = self._grab(lambda: grab_monitor(s.monitor, region), s.timeout_s)
        redact(image, [r.shifted(*offset) for r in s.regions])
        image = shrink(image, scale=s.scale, max_dimension=s.max_dimension)
        data = encode(image, s.image_format, s.quality)
        record = self.store.save(
            data,
            extension=EXTENSION[s.image_format],
            mime=MIME[s.image_format],
            width=image.width,
            height=image.height,
            captured_at=now,
            retention_class=s.retention_class,
        )
        return CaptureOutcome(record, degraded)


def retry_delay(failures: int, interval_s: float | None) -> float:
    """Capped exponential backoff after ``failures`` consecutive failures (>= 1)."""
    base = min(interval_s or MIN_RETRY_S, MIN_RETRY_S * 4)
    cap = min(MAX_RETRY_S, max(interval_s or 0.0, 60.0))
    return float(min(cap, base * 2 ** (failures - 1)))


class CaptureWorker:
    """Owns the capture thread; ``request()`` asks for a capture now."""

    def __init__(
        self,
        capturer: Capturer,
        *,
        interval_s: float | None,
        now: Callable[[], datetime],
        on_result: Callable[[CaptureOutcome], None],
        on_problem: Callable[[str], None],
    ) -> None:
        self.capturer = capturer
        self.interval_s = interval_s
        self.now = now
        self.on_result = on_result
        self.on_problem = on_problem
        self.paused = False
        self.off_record = False  # a capture pause: no screenshot at all
        self.failures = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, *, immediately: bool = True) -> None:
        """Start the thread; the first capture happens at once when ``immediately``."""
        if immediately:
            self._wake.set()
        self._thread = threading.Thread(target=self._run, name="screen-capture", daemon=True)
        self._thread.start()

    def request(self) -> None:
        """Capture as soon as possible (a ping, a widget refresh)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread (bounded wait; a hung helper is abandoned, it is a daemon)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(STOP_JOIN_S)

    def _run(self) -> None:
        delay: float | None = self.interval_s
        while not self._stop.is_set():
            self._wake.wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                break
            if self.paused or self.off_record:
                delay = self.interval_s
                continue
            try:
                outcome = self.capturer.capture(self.now())
            except CaptureUnavailable as exc:
                self.failures += 1
                self.on_problem(str(exc))
                delay = retry_delay(self.failures, self.interval_s) if self.interval_s else None
                continue
            except Exception as exc:  # a bug or a disk error must not end the thread
                logger.exception("capture failed")
                self.failures += 1
                self.on_problem(f"capture failed: {exc}")
                delay = retry_delay(self.failures, self.interval_s) if self.interval_s else None
                continue
            self.failures = 0
            self.on_result(outcome)
            delay = self.interval_s


__all__ = [
    "CaptureOutcome",
    "CaptureSettings",
    "CaptureWorker",
    "Capturer",
    "retry_delay",
]
