"""The small interface every desktop backend implements, and the choice made at start.

A backend answers one question per sample: which application and window have focus and
how long since the last input. ``open_backend`` picks one from the environment (X11 when
``DISPLAY`` works, else an idle monitor on the D-Bus session bus) or says why none fits.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from mimolo.errors import CaptureUnavailable

FOCUS_UNAVAILABLE: Final = "focus is unavailable on this compositor"
MAX_TITLE_READ: Final = 4096  # characters kept from a window's title before anything else


@dataclass(frozen=True, slots=True)
class Sample:
    """One observation. ``application`` is None when the backend cannot see focus (or no
    window has it); ``idle_s`` is None when it cannot see input."""

    application: str | None
    executable: str | None
    title: str | None
    idle_s: float | None


class Backend(Protocol):
    """What the agent samples through."""

    @property
    def name(self) -> str:
        """``x11`` or ``dbus``: named in the summaries and the status."""
        ...

    @property
    def limitation(self) -> str | None:
        """What this backend cannot see (health degraded with this message), or None."""
        ...

    def sample(self) -> Sample:
        """Observe now; raise ``CaptureUnavailable`` when the display or bus is gone."""
        ...

    def close(self) -> None:
        """Release the connection; safe to call twice."""
        ...


@dataclass(frozen=True, slots=True)
class Opened:
    """The outcome of ``open_backend``: a backend, or the reason there is none."""

    backend: Backend | None
    reason: str
    retry: bool  # whether a later attempt could succeed (a display or bus was named)


def _open_x11(env: Mapping[str, str]) -> Backend:
    from mimolo.agents.desktop_activity.x11_backend import X11Backend

    return X11Backend.open(env["DISPLAY"])


def _open_dbus(env: Mapping[str, str]) -> Backend:
    from mimolo.agents.desktop_activity.dbus_backend import DbusIdleBackend

    return DbusIdleBackend.open()


def _session_bus_named(env: Mapping[str, str]) -> bool:
    """Whether a session bus address is known (set, or the systemd user bus exists)."""
    if env.get("DBUS_SESSION_BUS_ADDRESS"):
        return True
    runtime = env.get("XDG_RUNTIME_DIR")
    return bool(runtime) and os.path.exists(os.path.join(runtime or "", "bus"))


def open_backend(
    choice: str,
    env: Mapping[str, str] | None = None,
    *,
    platform: str = sys.platform,
    openers: Mapping[str, Callable[[Mapping[str, str]], Backend]] | None = None,
) -> Opened:
    """Open the backend ``choice`` (``auto`` | ``x11`` | ``dbus`` | ``none``) names.

    ``auto`` tries X11 when ``DISPLAY`` is set (after D-Bus on a Wayland session, where
    X11 sees only XWayland windows), then D-Bus when a session bus is known.
    """
    env = os.environ if env is None else env
    open_with = openers or {"x11": _open_x11, "dbus": _open_dbus}
    if choice == "none":
        return Opened(None, "backend = none: nothing is recorded", retry=False)
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return Opened(None, f"unsupported platform: {platform}", retry=False)
    has_display = bool(env.get("DISPLAY"))
    has_bus = _session_bus_named(env)
    wayland = bool(env.get("WAYLAND_DISPLAY")) or env.get("XDG_SESSION_TYPE") == "wayland"
    if choice == "x11":
        order = ["x11"]
    elif choice == "dbus":
        order = ["dbus"]
    else:
        order = ["dbus", "x11"] if wayland else ["x11", "dbus"]
    candidates = [
        name for name in order if (name == "x11" and has_display) or (name == "dbus" and has_bus)
    ]
    if not candidates:
        wanted = {"x11": "DISPLAY is not set", "dbus": "no session bus"}
        why = "; ".join(wanted[name] for name in order)
        return Opened(None, f"no display: {why}", retry=False)
    failures: list[str] = []
    for name in candidates:
        try:
            return Opened(open_with[name](env), "", retry=True)
        except CaptureUnavailable as exc:
            failures.append(f"{name}: {exc}")
    return Opened(None, "no display: " + "; ".join(failures), retry=True)


__all__ = [
    "FOCUS_UNAVAILABLE",
    "MAX_TITLE_READ",
    "Backend",
    "Opened",
    "Sample",
    "open_backend",
]
