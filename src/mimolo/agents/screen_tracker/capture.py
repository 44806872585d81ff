"""Taking the picture: mss for the screen, the platform's window query, all with timeouts.

Nothing here may block the agent: every external call runs in a helper thread and is
abandoned after its timeout (a hung call keeps its thread; no second one is started until
it returns, so threads never pile up).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PIL import Image

from mimolo.agents.screen_tracker.imaging import Rect
from mimolo.errors import CaptureTimeout, CaptureUnavailable

T = TypeVar("T")


class TimedCall(Generic[T]):
    """Runs a callable in a helper thread and waits at most ``timeout`` seconds for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._busy: threading.Thread | None = None

    def __call__(self, fn: Callable[[], T], timeout: float) -> T:
        """The callable's result; CaptureTimeout if it did not finish in time."""
        if self._busy is not None and self._busy.is_alive():
            raise CaptureTimeout(f"{self.name}: a previous call is still hanging")
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed to the waiting thread below
                box["error"] = exc

        thread = threading.Thread(target=run, name=f"capture-{self.name}", daemon=True)
        self._busy = thread
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise CaptureTimeout(f"{self.name} did not answer within {timeout:g} s")
        self._busy = None
        if "error" in box:
            raise box["error"]
        value: T = box["value"]
        return value


def grab_monitor(monitor: int, region: Rect | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """Capture a monitor (or a region of the virtual screen clipped to it).

    Returns the RGB image and its offset from the monitor's top-left corner.
    """
    import mss
    import mss.exception

    factory = getattr(mss, "MSS", None) or mss.mss  # mss >= 10.2 renamed the entry point
    try:
        with factory() as sct:
            monitors = sct.monitors
            if monitor >= len(monitors):
                raise CaptureUnavailable(
                    f"monitor {monitor} is not present ({len(monitors) - 1} found)"
                )
            mon = monitors[monitor]
            area = dict(mon)
            if region is not None:
                left = max(region.x, mon["left"])
                top = max(region.y, mon["top"])
                right = min(region.x + region.w, mon["left"] + mon["width"])
                bottom = min(region.y + region.h, mon["top"] + mon["height"])
                if right <= left or bottom <= top:
                    raise CaptureUnavailable("the active window is not on the captured monitor")
                area = {"left": left, "top": top, "width": right - left, "height": bottom - top}
            shot = sct.grab(area)
            image = Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")
            return image, (area["left"] - mon["left"], area["top"] - mon["top"])
    except mss.exception.ScreenShotError as exc:
        raise CaptureUnavailable(f"screen capture unavailable: {exc}") from None


def active_window_support() -> str | None:
    """None when the active window can be queried here, else the reason it cannot."""
    platform: str = sys.platform  # a plain str: decided at run time, not by the type checker
    if platform == "win32":
        return None
    if platform.startswith("linux"):
        if not os.environ.get("DISPLAY"):
            return "active_window needs an X11 display (DISPLAY is not set)"
        if shutil.which("xdotool") is None:
            return "active_window needs xdotool, which is not installed"
        return None
    return f"active_window is not supported on {platform}"


def parse_xdotool_geometry(text: str) -> Rect:
    """Parse ``xdotool getwindowgeometry --shell`` output."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, raw = line.partition("=")
        if name in ("X", "Y", "WIDTH", "HEIGHT"):
            values[name] = int(raw)
    try:
        return Rect(values["X"], values["Y"], values["WIDTH"], values["HEIGHT"])
    except KeyError:
        raise CaptureUnavailable("xdotool gave no window geometry") from None


def active_window_rect(timeout: float) -> Rect:
    """The focused window's rectangle on the virtual screen."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return _windows_foreground_rect()
    try:
        done = subprocess.run(
            ["xdotool", "getactivewindow", "getwindowgeometry", "--shell"],
            capture_output=True,
            timeout=timeout,
            check=False,
            text=True,
        )
    except subprocess.TimeoutExpired:
        raise CaptureTimeout(f"xdotool did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise CaptureUnavailable(f"xdotool failed: {exc}") from None
    if done.returncode != 0:
        raise CaptureUnavailable(f"xdotool found no active window ({done.stderr.strip()[:200]})")
    return parse_xdotool_geometry(done.stdout)


def _windows_foreground_rect() -> Rect:  # pragma: no cover - Windows only
    import ctypes
    from ctypes import wintypes

    user32 = ctypes.windll.user32  # type: ignore[attr-defined,unused-ignore]
    hwnd = user32.GetForegroundWindow()
    if not hwnd:
        raise CaptureUnavailable("no foreground window")
    rect = wintypes.RECT()
    if not user32.GetWindowRect(hwnd, ctypes.byref(rect)):
        raise CaptureUnavailable("GetWindowRect failed")
    return Rect(rect.left, rect.top, rect.right - rect.left, rect.bottom - rect.top)


__all__ = [
    "TimedCall",
    "active_window_rect",
    "active_window_support",
    "grab_monitor",
    "parse_xdotool_geometry",
]
