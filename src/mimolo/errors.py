"""The MiMoLo error hierarchy and the one table of error codes.

Every error carries a stable machine ``code`` (used verbatim as the IPC error code), a human
``message``, the ``field`` at fault when there is one, and the ``http_status`` Control
answers it with. ``CODES`` lists every code raised anywhere: each class's own and each
per-raise ``code=`` override; ``mimolo.ipc.types.ERROR_CODES`` is its wire part. Catch at
boundaries, report with context, keep running.

    MimoloError                    anything MiMoLo refuses or fails at (500)
    ├── ProtocolError              a line or command that breaks the agent protocol (400)
    │   └── LineRejected           an agent line that is not a message; ``reason`` says why
    ├── ConfigError                a config file, instance change or form that does not validate
    │   ├── FormTooLarge           a Control form body over the size cap (answered as ConfigError)
    │   └── RulesInvalid           categorization rules that do not compile or repeat an id
    ├── InvalidField               a control request's field failed its handler's own check
    ├── DataRootError              the data root is unusable (permissions, a socket in the way)
    │   └── AlreadyRunning         another Operations holds the singleton lock (409)
    ├── NotRunning                 the supervisor is not running (yet) (503)
    ├── ContainmentError           a containment mode this machine cannot provide
    ├── ExtraTemplateError         an ``--extra-templates`` file is missing or invalid (400)
    ├── IpcError                   a control-socket request failed (502)
    │   ├── RemoteError            Operations answered ``ok: false``: its code and field
    │   └── OperationsUnavailable  nothing answers on the control socket (503)
    │       ├── NotConnected       the request was never sent (safe to send again)
    │       └── ConnectionLost     the connection ended after the request was sent
    ├── Dropped                    a control client stopped reading; the server drops it
    ├── LedgerError                evidence cannot be written or read
    ├── TrustError                 a package signature, allowlist or version check failed (403)
    │   ├── SignatureMissing       a package carries no ``manifest.sig``
    │   ├── SignatureInvalid       a signature does not verify over the canonical bytes
    │   ├── KeyUntrusted           signed by a key this data root does not trust
    │   ├── KeyInvalid             a key file is not an Ed25519 key (400)
    │   ├── UnknownKey             no trusted key of that id (404)
    │   ├── NotAllowlisted         release mode: the package is in no allowlist entry
    │   ├── AllowlistHashMismatch  the allowlist names that version with another hash
    │   ├── AllowlistInvalid       an allowlist document is malformed (400)
    │   ├── AllowlistRollback      an allowlist version not above the highest seen (409)
    │   └── PackageRollback        a version below the highest seen for that plugin (409)
    ├── PackageError               a package is malformed or hostile (400)
    │   ├── ManifestInvalid        ``manifest.json`` does not validate; ``field`` says where
    │   ├── PackageUnreadable      not a zip, no manifest, or an entry over its size cap
    │   ├── PackageSourceRefused   the zip to install is not a plain file you own, or too big
    │   └── PackageConflict        install/upgrade/remove refused by what is installed (409)
    ├── ArtifactError              an artifact token or path was refused (403; 404 if unknown)
    ├── WidgetError                a widget render/action failed (502)
    ├── ReportError                a reporter crashed, timed out or printed garbage
    ├── EvidencePackError          an evidence pack cannot be built (or would not verify)
    ├── UnsafeArchiveError         a zip is unreadable or hostile (safe_zip) (400)
    │   ├── UnsafeArchivePath      absolute, ``..``, empty or odd path components
    │   ├── ArchiveEntryType       a symlink, hard link, device, encrypted or odd entry
    │   ├── ArchiveDuplicateEntry  a name twice (also after case folding), or file-vs-dir
    │   ├── ArchiveTooLarge        an entry or the total over its cap (413)
    │   ├── ArchiveBomb            expands past the compression-ratio cap (413)
    │   ├── ArchiveUnexpectedEntry a name not in the allowed set
    │   └── ArchiveHashMismatch    an entry's bytes are not the expected sha256/size
    ├── ArchiveError               an artifact archive cannot be made, read or restored
    │   └── ArchiveDiskFull        the disk filled while archiving (nothing kept) (507)
    ├── PurgeRefused               an artifact purge refused (plan unknown/expired, ...)
    ├── BackupError                a whole-root backup or restore refused or failed
    ├── UploadInvalid              Control: a package upload is not one multipart file (400)
    │   ├── UploadTooLarge         over Control's upload cap (413)
    │   └── UploadUnknown          no held upload of that id (used, cancelled, expired) (404)
    ├── CaptureUnavailable         the screen (or window) cannot be captured right now (503)
    │   └── CaptureTimeout         an external capture call did not answer in time (504)
    ├── TeamStoreError             the team store (PostgreSQL) cannot be reached or refused (502)
    └── ReviewError                the review journal cannot be read or written (500)
        ├── AdjustmentInvalid      an adjustment that does not hold up (range, split, client) (400)
        ├── AdjustmentUnknown      no adjustment of that id (404)
        ├── InvoiceInvalid         an invoice request that does not hold up (range, rate) (400)
        ├── InvoiceUnknown         no issued invoice of that id (404)
        └── PeriodLocked           the range is billed by an issued invoice; void it first (409)

A raise may refine the code (``WidgetError(..., code="render_timeout")``); the instance then
takes that code's ``http_status`` from ``CODES``. A code from elsewhere that the table does
not know (a newer server, an agent's own) keeps the class's status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One row of the table: what the code means, Control's status, and whether the code
    travels on the control socket (listed in ``ERROR_CODES`` and docs/ipc.md)."""

    description: str
    http_status: int
    ipc: bool = False


class MimoloError(Exception):
    """Root of all MiMoLo errors: a stable ``code`` plus a human message."""

    code: str = "mimolo_error"
    http_status: int = 500

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
            known = CODES.get(code)
            if known is not None:
                self.http_status = known.http_status

    def __str__(self) -> str:
        return self.message


class ProtocolError(MimoloError):
    code = "protocol_error"
    http_status = 400


class LineRejected(ProtocolError):
    """A line that is not a valid protocol message; ``reason`` says why (``REJECT_REASONS``
    in ``mimolo.protocol.codec``), ``field`` where."""

    code = "line_rejected"
    http_status = 400

    def __init__(self, reason: str, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}", field=field)
        self.reason = reason
        self.detail = detail


class ConfigError(MimoloError):
    """Does not validate; the message reads ``"<field>: <message>"`` when a field is named."""

    code = "config_invalid"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(
            message if field is None else f"{field}: {message}", code=code, field=field
        )


class FormTooLarge(ConfigError):
    """The submitted body is bigger than any Control form (answered like any bad form)."""


class InvalidField(MimoloError):
    """A control handler's own field check failed; ``field`` names the field."""

    code = "invalid_field"
    http_status = 400

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)


class RulesInvalid(ConfigError):
    """Categorization rules that cannot be used: a malformed regex, a repeated ``rule_id``."""

    code = "rules_invalid"
    http_status = 400


class DataRootError(MimoloError):
    code = "data_root_error"
    http_status = 500


class AlreadyRunning(DataRootError):
    code = "already_running"
    http_status = 409

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class NotRunning(MimoloError):
    """The supervisor is not running (before start, after stop)."""

    code = "operations_not_ready"
    http_status = 503


class ContainmentError(MimoloError):
    """A containment mode was asked for that this machine cannot provide."""

    code = "containment_unavailable"
    http_status = 500


class ExtraTemplateError(MimoloError):
    """An extra template file is missing, unreadable or invalid (the message names it)."""

    code = "invalid_extra_template"
    http_status = 400


class IpcError(MimoloError):
    """A control-socket request failed; ``code`` is the server's (or the client's) code."""

    code = "ipc_error"
    http_status = 502


class RemoteError(IpcError):
    """Operations answered ``ok: false``; ``code`` is its error code, ``field`` the field."""

    http_status = 400  # a code this table does not know: Operations refused the request

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)


class OperationsUnavailable(IpcError):
    """Operations is not running (or the socket cannot be reached)."""

    code = "ops_unavailable"
    http_status = 503


class NotConnected(OperationsUnavailable):
    """The request was never sent: nothing accepted the connection.

    ``absent`` says there is no socket at all (Operations is not running), as opposed to a
    socket nobody accepts on right now (restarting, or its backlog full).
    """

    def __init__(self, message: str, *, absent: bool = False) -> None:
        super().__init__(message)
        self.absent = absent


class ConnectionLost(OperationsUnavailable):
    """The connection ended after the request was sent (it may or may not have run)."""


class Dropped(MimoloError):
    """The peer stopped reading; the control server is dropping its connection."""

    code = "connection_dropped"
    http_status = 500

    def __init__(self, message: str = "the peer stopped reading its answers") -> None:
        super().__init__(message)


class LedgerError(MimoloError):
    code = "ledger_error"
    http_status = 500


class TrustError(MimoloError):
    code = "trust_error"
    http_status = 403


class SignatureMissing(TrustError):
    """The package has no ``manifest.sig`` (release mode needs one)."""

    code = "signature_missing"
    http_status = 403


class SignatureInvalid(TrustError):
    """A signature is malformed or does not verify over the canonical bytes."""

    code = "signature_invalid"
    http_status = 403


class KeyUntrusted(TrustError):
    """Signed by a key that is not in this data root's ``trust/keys/``."""

    code = "key_untrusted"
    http_status = 403


class KeyInvalid(TrustError):
    """A key file or PEM is not an Ed25519 key of the expected kind."""

    code = "key_invalid"
    http_status = 400


class UnknownKey(TrustError):
    """No trusted key has that id."""

    code = "unknown_key"
    http_status = 404


class NotAllowlisted(TrustError):
    """Release mode: no allowlist entry names this ``(plugin_id, version)``."""

    code = "not_allowlisted"
    http_status = 403


class AllowlistHashMismatch(TrustError):
    """The allowlist names this version with another package hash."""

    code = "allowlist_hash_mismatch"
    http_status = 403


class AllowlistInvalid(TrustError):
    """An allowlist document is malformed (its fields, entries or encoding)."""

    code = "allowlist_invalid"
    http_status = 400


class AllowlistRollback(TrustError):
    """An allowlist whose version is not above the highest one accepted (TUF's rule)."""

    code = "allowlist_rollback"
    http_status = 409


class PackageRollback(TrustError):
    """A package version below the highest seen for its plugin (TUF's rule)."""

    code = "package_rollback"
    http_status = 409


class PackageError(MimoloError):
    code = "package_invalid"
    http_status = 400


class ManifestInvalid(PackageError):
    """``manifest.json`` does not validate; ``field`` names the field at fault."""

    code = "manifest_invalid"
    http_status = 400


class PackageUnreadable(PackageError):
    """Not a zip, no ``<plugin_id>/manifest.json``, or a manifest or sig over its cap."""

    code = "package_unreadable"
    http_status = 400


class PackageSourceRefused(PackageError):
    """The zip given to install is not a plain file owned by the caller, or over the cap."""

    code = "package_source_refused"
    http_status = 400


class PackageConflict(PackageError):
    """What is installed refuses the change; the code says how (``version_already_installed``,
    ``not_newer_than_installed``, ``package_in_use`` …)."""

    code = "package_conflict"
    http_status = 409


class ArtifactError(MimoloError):
    code = "artifact_refused"
    http_status = 403


class WidgetError(MimoloError):
    code = "widget_error"
    http_status = 502


class ReportError(MimoloError):
    code = "report_failed"
    http_status = 500


class EvidencePackError(MimoloError):
    """An evidence pack cannot be built: not an invoice, or its evidence does not hold up."""

    code = "evidence_pack_failed"
    http_status = 500


class UnsafeArchiveError(MimoloError):
    """A zip that is unreadable or hostile; each kind of hostility has its own subclass."""

    code = "archive_invalid"
    http_status = 400


class UnsafeArchivePath(UnsafeArchiveError):
    """An entry name that is absolute, traverses, or has empty or odd components."""

    code = "unsafe_archive_path"
    http_status = 400


class ArchiveEntryType(UnsafeArchiveError):
    """An entry that is not a plain file or directory (link, device, encrypted, odd method)."""

    code = "archive_entry_type"
    http_status = 400


class ArchiveDuplicateEntry(UnsafeArchiveError):
    """A name that occurs twice (also after case folding) or is both a file and a folder."""

    code = "archive_duplicate_entry"
    http_status = 400


class ArchiveTooLarge(UnsafeArchiveError):
    """Too many entries, an entry over the per-entry cap, or a total over the total cap."""

    code = "archive_too_large"
    http_status = 413


class ArchiveBomb(UnsafeArchiveError):
    """An entry that expands past the compression-ratio cap (counted while streaming)."""

    code = "archive_bomb"
    http_status = 413


class ArchiveUnexpectedEntry(UnsafeArchiveError):
    """An entry whose name is not in the set the caller allows."""

    code = "archive_unexpected_entry"
    http_status = 400


class ArchiveHashMismatch(UnsafeArchiveError):
    """An entry whose bytes are not the expected sha256 and size (or fail their CRC)."""

    code = "archive_hash_mismatch"
    http_status = 400


class ArchiveError(MimoloError):
    """An artifact archive cannot be made, read or restored (its own file, not the input)."""

    code = "archive_failed"
    http_status = 500


class ArchiveDiskFull(ArchiveError):
    """The disk filled while writing an archive; the partial file was removed."""

    code = "archive_disk_full"
    http_status = 507


class PurgeRefused(MimoloError):
    """An artifact purge that may not run: the raise names why (``purge_plan_expired``…)."""

    code = "purge_refused"
    http_status = 409


class BackupError(MimoloError):
    """A whole-root backup or restore that cannot run (the raise names why) or failed."""

    code = "backup_failed"
    http_status = 500


class UploadInvalid(MimoloError):
    """A package upload to Control that is not one well-formed multipart file part."""

    code = "upload_invalid"
    http_status = 400


class UploadTooLarge(UploadInvalid):
    """A package upload over Control's cap (refused while streaming; nothing kept)."""

    code = "upload_too_large"
    http_status = 413


class UploadUnknown(UploadInvalid):
    """No upload of that id is held: it was used, cancelled or expired."""

    code = "upload_unknown"
    http_status = 404


class CaptureUnavailable(MimoloError):
    """The screen (or window) cannot be captured right now; the message says why."""

    code = "capture_unavailable"
    http_status = 503


class CaptureTimeout(CaptureUnavailable):
    """An external capture call did not answer in time."""

    code = "capture_timeout"
    http_status = 504


class TeamStoreError(MimoloError):
    """The team store (PostgreSQL, docs/team.md) cannot be reached, lacks the schema, or
    refused a statement; the raise names which (``team_unreachable``...)."""

    code = "team_store_failed"
    http_status = 502


class ReviewError(MimoloError):
    """The review journal (``operations/review/``) cannot be read or written."""

    code = "review_error"
    http_status = 500


class AdjustmentInvalid(ReviewError):
    """An adjustment that does not hold up: an inverted or overlapping range, a split
    outside its gap, an unknown client, a revoke of a revoke; ``field`` names what."""

    code = "adjustment_invalid"
    http_status = 400


class AdjustmentUnknown(ReviewError):
    """No adjustment of that id in the journal."""

    code = "adjustment_unknown"
    http_status = 404


class InvoiceInvalid(ReviewError):
    """An invoice request that does not hold up: an inverted range, no rate, an unknown
    client, or a void of an invoice already voided."""

    code = "invoice_invalid"
    http_status = 400


class InvoiceUnknown(ReviewError):
    """No issued invoice of that id."""

    code = "invoice_unknown"
    http_status = 404


class PeriodLocked(ReviewError):
    """The range lies in a period an issued invoice bills; the message names its number
    (void that invoice first)."""

    code = "period_locked"
    http_status = 409


def _code(description: str, http_status: int, *, ipc: bool = False) -> ErrorCode:
    return ErrorCode(description, http_status, ipc)


CODES: Final[Mapping[str, ErrorCode]] = {
    # the classes' own codes
    "mimolo_error": _code("an error without a more precise code", 500),
    "protocol_error": _code("a line or command breaks the agent protocol", 400),
    "line_rejected": _code("an agent line is not a valid protocol message", 400),
    "config_invalid": _code(
        "the change does not validate (the key is named in `field`)", 400, ipc=True
    ),
    "invalid_field": _code(
        "a field is unknown, missing or of the wrong type (named in `field`)", 400, ipc=True
    ),
    "data_root_error": _code("the data root is unusable", 500),
    "already_running": _code("another Operations holds the data root's lock", 409),
    "operations_not_ready": _code("the supervisor is not running yet", 503, ipc=True),
    "containment_unavailable": _code("this machine cannot provide that containment mode", 500),
    "invalid_extra_template": _code("an extra template file is missing or invalid", 400),
    "ipc_error": _code("(client side) an answer from Operations was unusable", 502, ipc=True),
    "ops_unavailable": _code(
        "(client side) Operations is not running or not reachable", 503, ipc=True
    ),
    "connection_dropped": _code("a control client stopped reading its answers", 500),
    "ledger_error": _code("evidence cannot be written or read", 500),
    "trust_error": _code("a package signature, allowlist or version check failed", 403),
    "package_invalid": _code("a package is malformed or hostile", 400),
    # agent packages and trust
    "signature_missing": _code("the package carries no signature", 403, ipc=True),
    "signature_invalid": _code("a signature does not verify", 403, ipc=True),
    "key_untrusted": _code("signed by a key this data root does not trust", 403, ipc=True),
    "key_invalid": _code("not an Ed25519 key of the expected kind", 400, ipc=True),
    "unknown_key": _code("no trusted key with that id", 404, ipc=True),
    "not_allowlisted": _code("release mode: the package is in no allowlist entry", 403, ipc=True),
    "allowlist_hash_mismatch": _code(
        "the allowlist names that version with another package hash", 403, ipc=True
    ),
    "allowlist_invalid": _code("the allowlist document is malformed", 400, ipc=True),
    "allowlist_rollback": _code(
        "the allowlist version is not above the highest accepted", 409, ipc=True
    ),
    "package_rollback": _code(
        "the package version is below the highest seen for its plugin", 409, ipc=True
    ),
    "manifest_invalid": _code("the package manifest does not validate (`field`)", 400, ipc=True),
    "package_unreadable": _code(
        "not a zip, no manifest, or a manifest entry over its cap", 400, ipc=True
    ),
    "package_source_refused": _code(
        "the zip to install is not a plain file owned by you, or is over the size cap",
        400,
        ipc=True,
    ),
    "package_conflict": _code("what is installed refuses the change", 409, ipc=True),
    "version_already_installed": _code(
        "that version is installed (force reinstalls only the identical package)", 409, ipc=True
    ),
    "not_newer_than_installed": _code(
        "an upgrade must be to a higher version than the one installed", 409, ipc=True
    ),
    "plugin_already_installed": _code(
        "another version of the plugin is installed (use upgrade_package)", 409, ipc=True
    ),
    "package_not_installed": _code("no installed package of that plugin or version", 404, ipc=True),
    "package_in_use": _code(
        "configured instances use the package (remove them, or pass remove_instances)",
        409,
        ipc=True,
    ),
    "package_shadows_builtin": _code(
        "the package's plugin_id is a built-in agent's", 409, ipc=True
    ),
    "package_tampered": _code(
        "an installed package's files no longer match its manifest", 403, ipc=True
    ),
    "artifact_refused": _code("an artifact token or path was refused", 403),
    "widget_error": _code("a widget render or action failed", 502),
    "report_failed": _code("a report could not be produced", 500),
    "evidence_pack_failed": _code("an evidence pack could not be built", 500),
    "capture_unavailable": _code("the screen cannot be captured right now", 503),
    "capture_timeout": _code("a screen or window query did not answer in time", 504),
    # the control socket's own answers
    "invalid_json": _code("the line is not a UTF-8 JSON object", 400, ipc=True),
    "invalid_request": _code("the request has no usable `cmd` or `request_id`", 400, ipc=True),
    "unknown_command": _code("no command of that name", 400, ipc=True),
    "line_too_long": _code(
        "the request line exceeded the per-connection cap and was discarded", 413, ipc=True
    ),
    "response_too_large": _code("the answer would exceed the response bound", 502, ipc=True),
    "unsupported_api_version": _code(
        "`hello` asked for an API version this server does not speak", 400, ipc=True
    ),
    "peer_refused": _code("the connecting process belongs to another user", 403, ipc=True),
    "busy": _code(
        "too many control connections (or the instance is changing state); retry", 503, ipc=True
    ),
    "shutting_down": _code("Operations is shutting down and accepts no new work", 503, ipc=True),
    "internal_error": _code("the handler failed; details are in the diagnostics", 500, ipc=True),
    "timeout": _code("(client side) no answer within the request timeout", 504, ipc=True),
    # instances, templates and the config
    "unknown_instance": _code("no configured instance with that id", 404, ipc=True),
    "unknown_template": _code("no template with that plugin id", 404, ipc=True),
    "invalid_id": _code(
        "an id is not a slug (lowercase letters, digits, '-' or '_')", 400, ipc=True
    ),
    "invalid_label": _code("a label is empty, too long or not printable", 400, ipc=True),
    "config_syntax": _code("agent_config.toml is not UTF-8 TOML", 400),
    "agent_not_running": _code("the command needs a running agent", 409, ipc=True),
    "agent_busy": _code("the agent is not reading its commands", 503, ipc=True),
    "agent_timeout": _code("the agent did not acknowledge in time", 504, ipc=True),
    # widgets and artifacts
    "widgets_unavailable": _code("this Operations serves no widgets", 503, ipc=True),
    "widget_not_supported": _code("the agent has no widget", 502, ipc=True),
    "unsupported_action": _code("the widget does not support that action", 400, ipc=True),
    "invalid_action": _code("a widget action without a usable name", 400, ipc=True),
    "action_failed": _code("the agent refused the widget action", 502, ipc=True),
    "widget_action_failed": _code("the agent's widget action handler failed", 502, ipc=True),
    "action_timeout": _code("the agent did not answer the widget action in time", 504, ipc=True),
    "render_failed": _code("the agent could not render its widget", 502, ipc=True),
    "render_timeout": _code("the agent did not render its widget in time", 504, ipc=True),
    "render_payload_too_large": _code("the widget's HTML is over the size bound", 502, ipc=True),
    "render_validation_failed": _code("the widget's frame or HTML did not validate", 502, ipc=True),
    "archived_data_rehydrate_required": _code(
        "an artifact the widget shows is archived", 409, ipc=True
    ),
    "artifact_token_unknown": _code("no live artifact token of that value", 404, ipc=True),
    "artifact_token_expired": _code("the artifact token has expired", 404, ipc=True),
    "artifact_scope_mismatch": _code(
        "the artifact token belongs to another instance", 404, ipc=True
    ),
    "artifact_missing": _code("the artifact's file is gone", 404, ipc=True),
    "artifact_path_refused": _code(
        "the artifact's path leaves its folder or is not a plain file", 403, ipc=True
    ),
    # local: containment, services, the CLI, reports
    "containment_invalid_mode": _code("an unknown containment mode was asked for", 400),
    "containment_misuse": _code("containment was used out of order", 500),
    "service_failed": _code(
        "a service (such as the control socket) failed and stopped Operations", 500
    ),
    "ops_start_failed": _code("Operations exited while starting", 503),
    "ops_start_timeout": _code("Operations did not answer in time after starting", 504),
    "reporter_error": _code("the reporter reported an error", 500),
    "reporter_crashed": _code("the reporter exited abnormally", 500),
    "reporter_timeout": _code("the reporter ran past its deadline and was stopped", 504),
    "reporter_garbage": _code("the reporter printed something that is not its protocol", 500),
    "reporter_no_result": _code("the reporter ended without a result", 500),
    "reporter_no_output": _code("the reporter's result names no output file", 500),
    "reporter_bad_result": _code("the reporter's result is malformed", 500),
    "template_error": _code("a report template failed to render", 500),
    "report_client_unknown": _code(
        "the report names a client that no setting, rule or evidence knows", 400
    ),
    "report_range_invalid": _code("the report's range is empty, inverted or unreadable", 400),
    "report_figures_inconsistent": _code("billing figures that do not add up were refused", 500),
    "pack_not_invoice": _code("the file is not a MiMoLo invoice PDF with embedded totals", 400),
    "pack_totals_mismatch": _code(
        "the ledger no longer gives the invoice's figures (evidence or policy changed)", 409
    ),
    "pack_does_not_verify": _code("the evidence behind the invoice does not verify", 409),
    "pack_unchained": _code("a record of the invoice predates the hash chain", 409),
    # artifacts: safe zip reading, archives, restore, purge
    "archive_invalid": _code("the file is not a readable zip archive", 400, ipc=True),
    "unsafe_archive_path": _code(
        "an archive entry's path is absolute, traverses or has odd components", 400, ipc=True
    ),
    "archive_entry_type": _code(
        "an archive entry is a link, device, encrypted or otherwise not a plain file",
        400,
        ipc=True,
    ),
    "archive_duplicate_entry": _code(
        "an archive names a file twice (also after case folding)", 400, ipc=True
    ),
    "archive_too_large": _code("an archive entry or its total is over the cap", 413, ipc=True),
    "archive_bomb": _code("an archive entry expands past the compression-ratio cap", 413, ipc=True),
    "archive_unexpected_entry": _code(
        "an archive holds an entry that is not in its manifest", 400, ipc=True
    ),
    "archive_hash_mismatch": _code(
        "an archive entry's bytes do not match their expected sha256", 400, ipc=True
    ),
    "archive_failed": _code("an artifact archive could not be written or read", 500, ipc=True),
    "archive_disk_full": _code(
        "the disk filled while archiving; the partial archive was removed", 507, ipc=True
    ),
    "archive_unknown": _code("no archive with that id for the instance", 404, ipc=True),
    "archive_wrong_instance": _code("the archive belongs to another instance", 400, ipc=True),
    "purge_refused": _code("the purge may not run", 409, ipc=True),
    "purge_plan_unknown": _code("no live purge plan with that id (or it was used)", 404, ipc=True),
    "purge_plan_expired": _code("the purge plan has expired; make a new one", 410, ipc=True),
    "purge_not_confirmed": _code("a purge needs `confirm: true`", 400, ipc=True),
    "archive_decision_required": _code(
        "a purge needs an archive decision (create, use existing or decline)", 400, ipc=True
    ),
    "archive_not_covering": _code(
        "the chosen archive does not hold every file of the plan", 409, ipc=True
    ),
    # whole data root backup and restore
    "backup_failed": _code("a backup or restore failed", 500),
    "backup_source_missing": _code("the data root to back up does not exist", 404),
    "backup_destination_exists": _code("the backup file already exists (never overwritten)", 409),
    "backup_inside_root": _code("the backup file would be inside the data root it copies", 400),
    "backup_invalid": _code("the file is not a MiMoLo backup (manifest missing or wrong)", 400),
    "restore_target_not_empty": _code("a restore goes only into an empty or absent folder", 409),
    "backup_does_not_verify": _code(
        "the restored evidence does not verify as the backup's manifest says it did", 409
    ),
    # review: rules, adjustments and invoices
    "rules_invalid": _code(
        "a rule's regex does not compile or a rule_id repeats (`field` names it)", 400, ipc=True
    ),
    "review_error": _code("the review journal cannot be read or written", 500, ipc=True),
    "adjustment_invalid": _code(
        "the adjustment does not hold up (range, split, client; `field` names it)", 400, ipc=True
    ),
    "adjustment_unknown": _code("no adjustment with that id", 404, ipc=True),
    "invoice_invalid": _code(
        "the invoice request does not hold up (range, rate, client, already voided)",
        400,
        ipc=True,
    ),
    "invoice_unknown": _code("no issued invoice with that id", 404, ipc=True),
    "period_locked": _code(
        "an issued invoice bills that range (its number is named); void it first", 409, ipc=True
    ),
    # the team store (PostgreSQL)
    "team_store_failed": _code("the team store failed a statement", 502),
    "team_unreachable": _code("the team store's PostgreSQL cannot be reached", 503),
    "team_no_conninfo": _code("no team store connection is configured", 400),
    "team_schema_missing": _code("the database has no MiMoLo team schema (init-db)", 409),
    "team_schema_newer": _code("the team schema is newer than this MiMoLo knows", 409),
    "team_host_unknown": _code("the role writes for no host, or not for this machine", 403),
    "team_refused": _code("PostgreSQL refused the statement (privilege or row security)", 403),
    "team_encoding": _code("the team database's encoding is not UTF8", 400),
    # Control's own answers
    "unknown_action": _code("no Control action of that name", 404),
    "unknown_job": _code("no report job with that id", 404),
    "upload_invalid": _code("a package upload is not one multipart/form-data file part", 400),
    "upload_too_large": _code("a package upload is over Control's size cap", 413),
    "upload_unknown": _code("no held package upload of that id (used, cancelled, expired)", 404),
}


__all__ = [
    "CODES",
    "AdjustmentInvalid",
    "AdjustmentUnknown",
    "AllowlistHashMismatch",
    "AllowlistInvalid",
    "AllowlistRollback",
    "AlreadyRunning",
    "ArchiveBomb",
    "ArchiveDiskFull",
    "ArchiveDuplicateEntry",
    "ArchiveEntryType",
    "ArchiveError",
    "ArchiveHashMismatch",
    "ArchiveTooLarge",
    "ArchiveUnexpectedEntry",
    "ArtifactError",
    "BackupError",
    "CaptureTimeout",
    "CaptureUnavailable",
    "ConfigError",
    "ConnectionLost",
    "ContainmentError",
    "DataRootError",
    "Dropped",
    "ErrorCode",
    "EvidencePackError",
    "ExtraTemplateError",
    "FormTooLarge",
    "InvalidField",
    "InvoiceInvalid",
    "InvoiceUnknown",
    "IpcError",
    "KeyInvalid",
    "KeyUntrusted",
    "LedgerError",
    "LineRejected",
    "ManifestInvalid",
    "MimoloError",
    "NotAllowlisted",
    "NotConnected",
    "NotRunning",
    "OperationsUnavailable",
    "PackageConflict",
    "PackageError",
    "PackageRollback",
    "PackageSourceRefused",
    "PackageUnreadable",
    "PeriodLocked",
    "ProtocolError",
    "PurgeRefused",
    "RemoteError",
    "ReportError",
    "ReviewError",
    "RulesInvalid",
    "SignatureInvalid",
    "SignatureMissing",
    "TeamStoreError",
    "TrustError",
    "UnknownKey",
    "UnsafeArchiveError",
    "UnsafeArchivePath",
    "UploadInvalid",
    "UploadTooLarge",
    "UploadUnknown",
    "WidgetError",
]
