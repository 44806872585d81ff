"""The Operations control API, client side: envelopes, error codes and the client.

Its errors (``RemoteError``, ``NotConnected``, ``ConnectionLost`` …) are in ``mimolo.errors``.
"""

from mimolo.ipc.client import OpsClient, request_response_sync, request_sync
from mimolo.ipc.resilient import (
    RetryPolicy,
    request_pages,
    request_pages_sync,
    request_retrying,
    request_retrying_sync,
)
from mimolo.ipc.types import API_VERSION, ERROR_CODES, Response

__all__ = [
    "API_VERSION",
    "ERROR_CODES",
    "OpsClient",
    "Response",
    "RetryPolicy",
    "request_pages",
    "request_pages_sync",
    "request_response_sync",
    "request_retrying",
    "request_retrying_sync",
    "request_sync",
]
