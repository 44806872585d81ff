"""The MiMoLo error hierarchy.

Every error carries a stable machine ``code`` (used verbatim as the IPC error code) and a
human message. Catch at boundaries, report with context, keep running.

    MimoloError
    ├── ProtocolError        a line or command that breaks the agent protocol
    ├── ConfigError          agent_config.toml or an instance change that does not validate
    ├── DataRootError        the data root is unusable (permissions, locked by another pid)
    │   └── AlreadyRunning   another Operations holds the singleton lock
    ├── IpcError             a control-socket request failed (carries the server's code)
    │   └── OperationsUnavailable  nothing answers on the control socket
    ├── LedgerError          evidence cannot be written or read
    ├── TrustError           a package signature, allowlist or version check failed
    ├── PackageError         a package is malformed or hostile
    ├── ArtifactError        an artifact token or path was refused
    ├── WidgetError          a widget render/action failed
    └── ReportError          a reporter crashed, timed out or printed garbage
"""

from __future__ import annotations


class MimoloError(Exception):
    """Root of all MiMoLo errors: a stable ``code`` plus a human message."""

    code: str = "mimolo_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ProtocolError(MimoloError):
    code = "protocol_error"


class ConfigError(MimoloError):
    code = "config_invalid"

    def __init__(self, message: str, *, key: str | None = None, code: str | None = None) -> None:
        super().__init__(message if key is None else f"{key}: {message}", code=code)
        self.key = key


class DataRootError(MimoloError):
    code = "data_root_error"


class AlreadyRunning(DataRootError):
    code = "already_running"

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class IpcError(MimoloError):
    code = "ipc_error"


class OperationsUnavailable(IpcError):
    """Operations is not running (or the socket cannot be reached)."""

    code = "ops_unavailable"


class LedgerError(MimoloError):
    code = "ledger_error"


class TrustError(MimoloError):
    code = "trust_error"


class PackageError(MimoloError):
    code = "package_invalid"


class ArtifactError(MimoloError):
    code = "artifact_refused"


class WidgetError(MimoloError):
    code = "widget_error"


class ReportError(MimoloError):
    code = "report_failed"


__all__ = [
    "AlreadyRunning",
    "ArtifactError",
    "ConfigError",
    "DataRootError",
    "IpcError",
    "LedgerError",
    "MimoloError",
    "OperationsUnavailable",
    "PackageError",
    "ProtocolError",
    "ReportError",
    "TrustError",
    "WidgetError",
]
