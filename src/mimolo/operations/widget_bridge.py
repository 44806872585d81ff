"""The Operations side of widgets: route renders and actions to agents, preflight, cache, audit.

Operations never renders a widget (DESIGN §8). It asks the agent (``widget_render`` /
``widget_action`` commands), correlates the answer by ``request_id``, preflights the frame
(``widget_preflight``: size, then image and row counts and artifact references on the
sanitizer's own parse), exchanges every ``mimolo://artifact/<rel_path>`` image for a
short-lived token, caches the sanitized result for the frame's ``ttl_ms`` and leaves an
``audit`` breadcrumb with bytes and duration.
Control then sanitizes what it gets again, as the final authority.

Error codes (``WidgetError.code``): ``widget_not_supported``, ``render_timeout``,
``render_payload_too_large``, ``render_validation_failed``, ``render_failed``,
``archived_data_rehydrate_required``, ``action_timeout``, ``action_failed``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec

from mimolo.artifact_files import open_artifact
from mimolo.dataroot import DataRoot
from mimolo.errors import ArtifactError, WidgetError
from mimolo.operations.artifact_tokens import ArtifactTokenStore, purged_or
from mimolo.operations.diagnostics import DiagnosticsAPI
from mimolo.operations.widget_preflight import exchange_refs, preflight_frame
from mimolo.protocol.commands import AgentCommand, WidgetActionCommand, WidgetRenderCommand
from mimolo.protocol.messages import AckMessage, AgentMessage, ErrorMessage, WidgetFrameMessage
from mimolo.protocol.widget_html import check_fragment_size

log = logging.getLogger(__name__)

MAX_CACHE_TTL_MS: Final = 60_000
DEFAULT_RENDER_TIMEOUT_S: Final = 5.0
DEFAULT_ACTION_TIMEOUT_S: Final = 10.0
_ACTION_RE: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

SendCommand = Callable[[str, AgentCommand], Awaitable[None] | None]
"""``send(instance_id, command)``: write to an agent's stdin; answers come via ``deliver``."""


class RenderedWidget(msgspec.Struct, frozen=True, kw_only=True):
    """A preflighted frame with artifact refs exchanged for tokens, ready for Control."""

    instance_id: str
    plugin_id: str
    request_id: str
    mode: str
    html: str
    ttl_ms: int
    state_token: str
    bytes: int
    images: int
    rendered_at: float
    expires_at: float


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if inspect.isawaitable(value):
        await value


class WidgetBridge:
    """Correlates widget requests with agent answers; owns the frame cache and the tokens."""

    def __init__(
        self,
        data_root: DataRoot,
        *,
        tokens: ArtifactTokenStore,
        send: SendCommand,
        diagnostics: DiagnosticsAPI | None = None,
        clock: Callable[[], float] = time.monotonic,
        render_timeout_s: float = DEFAULT_RENDER_TIMEOUT_S,
        action_timeout_s: float = DEFAULT_ACTION_TIMEOUT_S,
    ) -> None:
        self.data_root = data_root
        self.tokens = tokens
        self._send = send
        self._diagnostics = diagnostics
        self.clock = clock
        self.render_timeout_s = render_timeout_s
        self.action_timeout_s = action_timeout_s
        self._manifests: dict[str, dict[str, Any] | None] = {}
        self._cache: dict[str, RenderedWidget] = {}
        self._waiters: dict[tuple[str, str], asyncio.Future[AgentMessage]] = {}
        self._inflight: dict[str, asyncio.Future[RenderedWidget]] = {}
        self._action_locks: dict[str, asyncio.Lock] = {}

    # ---- fed by the supervisor ---------------------------------------------------

    def note_manifest(self, instance_id: str, manifest: object) -> None:
        """Remember the ``widget_manifest`` an agent announced in its handshake."""
        self._manifests[instance_id] = dict(manifest) if isinstance(manifest, dict) else None
        self._cache.pop(instance_id, None)

    def manifest(self, instance_id: str) -> dict[str, Any] | None:
        """The announced manifest, or None when the agent has none (or has not said)."""
        return self._manifests.get(instance_id)

    def knows_manifest(self, instance_id: str) -> bool:
        """Whether the running agent's handshake has been seen (with or without a manifest)."""
        return instance_id in self._manifests

    def deliver(self, instance_id: str, message: AgentMessage) -> bool:
        """Hand an agent message to a waiting request; True when one was waiting for it.

        ``widget_frame`` answers a render, ``ack`` of ``widget_action`` answers an action, an
        ``error`` carrying ``data.request_id`` fails either.
        """
        request_id: object = None
        if isinstance(message, WidgetFrameMessage):
            request_id = message.data.request_id
        elif isinstance(message, (ErrorMessage, AckMessage)):
            if isinstance(message, AckMessage) and message.ack_command != "widget_action":
                return False
            request_id = message.data.get("request_id")
        if not isinstance(request_id, str):
            return False
        waiter = self._waiters.get((instance_id, request_id))
        if waiter is None or waiter.done():
            if isinstance(message, WidgetFrameMessage):
                log.debug("late widget frame %s from %s dropped", request_id, instance_id)
            return False
        waiter.set_result(message)
        return True

    def forget(self, instance_id: str) -> None:
        """The instance stopped or was removed: drop its cache, tokens and waiters."""
        self._cache.pop(instance_id, None)
        self._manifests.pop(instance_id, None)
        self.tokens.revoke_instance(instance_id)
        for (owner, _rid), waiter in list(self._waiters.items()):
            if owner == instance_id and not waiter.done():
                waiter.set_exception(
                    WidgetError("the agent stopped before answering", code="render_failed")
                )

    # ---- asked for by IPC --------------------------------------------------------

    def cached(self, instance_id: str) -> RenderedWidget | None:
        """The cached frame if it is still within its TTL."""
        frame = self._cache.get(instance_id)
        if frame is not None and self.clock() < frame.expires_at:
            return frame
        return None

    async def render(
        self,
        instance_id: str,
        plugin_id: str,
        *,
        force: bool = False,
        width: int | None = None,
        height: int | None = None,
    ) -> tuple[RenderedWidget, bool]:
        """A fresh or cached frame and whether it came from the cache.

        Concurrent requests for one instance share the render in flight (single flight), so
        many tabs polling a hung agent never queue up one timeout after another.
        """
        if not force and (hit := self.cached(instance_id)) is not None:
            return hit, True
        shared = self._inflight.get(instance_id)
        if shared is not None:
            try:
                return await asyncio.shield(shared), False
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                raise WidgetError(
                    "the render in flight was abandoned", code="render_failed"
                ) from None
        flight: asyncio.Future[RenderedWidget] = asyncio.get_running_loop().create_future()
        self._inflight[instance_id] = flight
        try:
            frame = await self._render_now(instance_id, plugin_id, width, height)
        except Exception as exc:
            flight.set_exception(exc)
            flight.exception()  # retrieved here; sharers re-raise it themselves
            raise
        except BaseException:
            flight.cancel()
            raise
        else:
            flight.set_result(frame)
            return frame, False
        finally:
            del self._inflight[instance_id]

    async def _render_now(
        self, instance_id: str, plugin_id: str, width: int | None, height: int | None
    ) -> RenderedWidget:
        request_id = uuid.uuid4().hex
        started = self.clock()
        args: dict[str, Any] = {"request_id": request_id}
        if width is not None:
            args["width"] = width
        if height is not None:
            args["height"] = height
        outcome, size, images = "ok", 0, 0
        try:
            reply = await self._exchange(
                instance_id,
                request_id,
                WidgetRenderCommand(args=args, id=request_id),
                self.render_timeout_s,
                "render_timeout",
            )
            if isinstance(reply, ErrorMessage):
                code = "widget_not_supported" if reply.message == "widget_not_supported" else None
                raise WidgetError(
                    f"the agent answered: {reply.message}", code=code or "render_failed"
                )
            if not isinstance(reply, WidgetFrameMessage):
                raise WidgetError("the agent answered with no frame", code="render_failed")
            frame = self._accept(instance_id, plugin_id, request_id, reply, started)
            size, images = frame.bytes, frame.images
            return frame
        except WidgetError as exc:
            outcome = exc.code
            raise
        finally:
            self._audit(
                "widget_render",
                instance_id,
                request_id=request_id,
                outcome=outcome,
                bytes=size,
                images=images,
                duration_ms=round((self.clock() - started) * 1000, 1),
            )

    def _accept(
        self,
        instance_id: str,
        plugin_id: str,
        request_id: str,
        reply: WidgetFrameMessage,
        started: float,
    ) -> RenderedWidget:
        """Preflight a frame, exchange its artifact refs for tokens and cache it."""
        data = reply.data
        checked = preflight_frame(data.html)
        tokens = {
            ref: self._token_for(plugin_id, instance_id, ref) for ref in checked.artifact_refs
        }
        # A cached frame must never outlive the tokens inside it (tokens are reissued once
        # less than half their TTL is left, so half the TTL is the safe bound).
        token_bound_ms = int(self.tokens.ttl_s * 500)
        ttl_ms = max(0, min(int(data.ttl_ms), MAX_CACHE_TTL_MS, token_bound_ms))
        html = exchange_refs(checked.html, tokens)
        # Control checks the bound on what it receives: escaping and tokens can grow a frame.
        check_fragment_size(html, "the sanitized frame with its artifact tokens")
        now = self.clock()
        frame = RenderedWidget(
            instance_id=instance_id,
            plugin_id=plugin_id,
            request_id=request_id,
            mode=data.mode,
            html=html,
            ttl_ms=ttl_ms,
            state_token=data.state_token,
            bytes=checked.bytes,
            images=checked.images,
            rendered_at=now,
            expires_at=now + ttl_ms / 1000,
        )
        self._cache[instance_id] = frame
        return frame

    def _token_for(self, plugin_id: str, instance_id: str, ref: str) -> str:
        """A token for a servable referenced artifact (or the reason there is none)."""
        try:
            grant = self.tokens.issue(plugin_id, instance_id, ref)
            os.close(open_artifact(self.data_root, plugin_id, instance_id, ref))
        except ArtifactError as exc:
            exc = purged_or(exc, self.data_root, plugin_id, instance_id, ref)
            if exc.code == "artifact_missing" and "purged (archived in" in exc.message:
                raise WidgetError(
                    f"{exc.message}: restore that archive to show it",
                    code="archived_data_rehydrate_required",
                ) from None
            if exc.code == "artifact_missing" and self._has_archives(plugin_id, instance_id):
                raise WidgetError(
                    f"artifact {ref!r} is archived; restore the archive to show it",
                    code="archived_data_rehydrate_required",
                ) from None
            raise WidgetError(
                f"artifact {ref!r} refused: {exc.message}", code="render_validation_failed"
            ) from None
        return grant.token

    def _has_archives(self, plugin_id: str, instance_id: str) -> bool:
        archives = self.data_root.instance_dir(plugin_id, instance_id) / "archives"
        try:
            return any(archives.iterdir())
        except OSError:
            return False

    async def action(
        self, instance_id: str, action: str, args: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a widget action and wait for the agent's ACK (``refresh`` flushes first)."""
        if not _ACTION_RE.fullmatch(action):
            raise WidgetError(f"invalid widget action {action!r}", code="invalid_action")
        request_id = uuid.uuid4().hex
        started = self.clock()
        payload = dict(args or {})
        payload.update(request_id=request_id, action=action)
        outcome = "ok"
        lock = self._action_locks.setdefault(instance_id, asyncio.Lock())
        try:
            async with lock:
                reply = await self._exchange(
                    instance_id,
                    request_id,
                    WidgetActionCommand(args=payload, id=request_id),
                    self.action_timeout_s,
                    "action_timeout",
                )
            if isinstance(reply, ErrorMessage):
                code = reply.data.get("code")
                raise WidgetError(
                    f"the agent refused {action!r}: {reply.message}",
                    code=code if isinstance(code, str) and code else "action_failed",
                )
            self._cache.pop(instance_id, None)
            return {"instance_id": instance_id, "action": action, "request_id": request_id}
        except WidgetError as exc:
            outcome = exc.code
            raise
        finally:
            self._audit(
                "widget_action",
                instance_id,
                request_id=request_id,
                widget_action=action,
                outcome=outcome,
                duration_ms=round((self.clock() - started) * 1000, 1),
            )

    async def _exchange(
        self,
        instance_id: str,
        request_id: str,
        command: AgentCommand,
        timeout_s: float,
        timeout_code: str,
    ) -> AgentMessage:
        """Send ``command`` and wait (bounded) for the message answering ``request_id``."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[AgentMessage] = loop.create_future()
        key = (instance_id, request_id)
        self._waiters[key] = waiter
        try:
            await _maybe_await(self._send(instance_id, command))
            return await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            raise WidgetError(
                f"the agent did not answer within {timeout_s:g} s", code=timeout_code
            ) from None
        finally:
            self._waiters.pop(key, None)

    def _audit(self, action: str, instance_id: str, **fields: Any) -> None:
        if self._diagnostics is not None:
            self._diagnostics.record(
                "audit", instance_id=instance_id, level="info", action=action, **fields
            )


__all__ = ["RenderedWidget", "SendCommand", "WidgetBridge"]
