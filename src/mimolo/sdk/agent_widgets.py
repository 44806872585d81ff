"""AgentWidgets: how a Python agent answers ``widget_render`` and ``widget_action`` (DESIGN §8).

Agents own their presentation: ``render_widget`` returns an HTML fragment that becomes a
``widget_frame`` (or a ``widget_not_supported`` error when there is none), and
``handle_widget_action`` runs a button press before its ACK. Kept apart from the command
dispatch because it is the one part of the SDK that speaks for the widget canvas.
"""

from __future__ import annotations

import zlib
from typing import Any, ClassVar

from mimolo.errors import WidgetError
from mimolo.protocol.commands import WidgetActionCommand, WidgetRenderCommand
from mimolo.protocol.messages import ErrorMessage, WidgetFrameData, WidgetFrameMessage
from mimolo.sdk.agent_core import AgentCore
from mimolo.sdk.widgets import WIDGET_NOT_SUPPORTED, WidgetRequest, default_manifest


class AgentWidgets(AgentCore):
    """The widget hooks and their answers; part of ``BaseAgent``."""

    widget_ttl_ms: ClassVar[int] = 5000

    # ---- hooks for subclasses -------------------------------------------------------

    def render_widget(self, request: WidgetRequest) -> str | None:
        """An HTML fragment for Control's widget canvas; None means widgets unsupported."""
        return None

    def widget_manifest(self) -> dict[str, Any] | None:
        """What the widget supports; by default derived from ``render_widget`` existing."""
        if type(self).render_widget is AgentWidgets.render_widget:
            return None
        return default_manifest()

    def handle_widget_action(self, action: str, args: dict[str, Any]) -> None:
        """A widget button was pressed. ``refresh`` needs nothing here (the SDK flushes)."""
        if action != "refresh":
            raise WidgetError(f"unsupported widget action {action!r}", code="unsupported_action")

    # ---- internals ------------------------------------------------------------------

    def _widget_render(self, command: WidgetRenderCommand) -> None:
        """Answer ``widget_render`` with a frame or a ``widget_not_supported`` error."""
        request = WidgetRequest.from_args(command.args)
        try:
            fragment = self.render_widget(request)
        except Exception as exc:
            self._hook_failed("render_widget", exc, force=True)
            fragment = None
            message = "widget_render_failed"
        else:
            message = WIDGET_NOT_SUPPORTED
        if fragment is None:
            self._emit(
                ErrorMessage(
                    **self._envelope(), message=message, data={"request_id": request.request_id}
                )
            )
            return
        token = f"{zlib.crc32(fragment.encode()):08x}"  # cheap; hashlib costs ~4 MB RSS
        data = WidgetFrameData(
            request_id=request.request_id,
            html=fragment,
            ttl_ms=self.widget_ttl_ms,
            state_token=token,
        )
        self._emit(WidgetFrameMessage(**self._envelope(), data=data))

    def _widget_action(self, command: WidgetActionCommand, cid: str | None) -> None:
        """Run a widget action; ``refresh`` flushes a summary before the ACK."""
        args = command.args
        request_id = str(args.get("request_id", ""))
        action = args.get("action")
        if not isinstance(action, str) or not action:
            self.report_error(
                "widget_action without an action", request_id=request_id, code="invalid_action"
            )
            return
        try:
            self.handle_widget_action(action, args)
        except Exception as exc:
            code = getattr(exc, "code", "widget_action_failed")
            self.report_error(str(exc), request_id=request_id, action=action, code=code)
            return
        if action == "refresh":
            self.emit_summary_now()
        self._ack("widget_action", cid, request_id=request_id)


__all__ = ["AgentWidgets"]
