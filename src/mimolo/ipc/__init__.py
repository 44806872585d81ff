"""The Operations control API, client side: envelopes, error codes and the client."""

from mimolo.ipc.client import OpsClient, RemoteError, request_response_sync, request_sync
from mimolo.ipc.types import API_VERSION, ERROR_CODES, Response

__all__ = [
    "API_VERSION",
    "ERROR_CODES",
    "OpsClient",
    "RemoteError",
    "Response",
    "request_response_sync",
    "request_sync",
]
