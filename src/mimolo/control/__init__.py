"""Control: the local web app (dashboard, logs, evidence, timeline, reports) on 127.0.0.1."""

from mimolo.control.app import create_app
from mimolo.control.auth import Auth
from mimolo.control.ops_link import OpsLink
from mimolo.control.server import bind_loopback, control_url, serve

__all__ = ["Auth", "OpsLink", "bind_loopback", "control_url", "create_app", "serve"]
