"""The Python agent SDK: BaseAgent, parameter declarations, widget helpers.

from mimolo.sdk import BaseAgent, Param, activity_signal
"""

from mimolo.protocol.params import Param, validate_params
from mimolo.sdk.agent import BaseAgent
from mimolo.sdk.agent_core import activity_signal
from mimolo.sdk.agent_logging import ProtocolLogHandler
from mimolo.sdk.clock import Clock, SystemClock
from mimolo.sdk.params import load_agent_params
from mimolo.sdk.widgets import WidgetRequest, default_manifest, escape, html_table

__all__ = [
    "BaseAgent",
    "Clock",
    "Param",
    "ProtocolLogHandler",
    "SystemClock",
    "WidgetRequest",
    "activity_signal",
    "default_manifest",
    "escape",
    "html_table",
    "load_agent_params",
    "validate_params",
]
