"""``trust/``: trusted publisher keys (``keys/<key_id>.pub``), the signed allowlist in force
(``allowlist.json``) and the highest versions seen (``state.json``: the allowlist version and
each plugin's package version, which only ever grow). Written only by Operations, atomically,
0600 files in 0700 folders; readers (``mimolo keys list``, ``mimolo trust show``) use the
read-only methods and need no Operations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

import msgspec

from mimolo.dataroot import DataRoot, ensure_private_dir, write_atomic
from mimolo.errors import AllowlistInvalid, KeyInvalid, TrustError, UnknownKey
from mimolo.packages.allowlist import Allowlist, decode_allowlist, encode_allowlist
from mimolo.packages.policy import TrustMode, TrustPolicy, accept_allowlist
from mimolo.packages.signing import KEY_ID_RE, key_id, load_public_key, public_pem
from mimolo.packages.versions import compare_versions, is_version
from mimolo.slugs import check_slug

log = logging.getLogger(__name__)

STATE_FORMAT: Final = 1
MAX_KEY_BYTES: Final = 16 * 1024


class TrustState(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``trust/state.json``: the high-water marks rollback protection rests on."""

    format: int = STATE_FORMAT
    highest_allowlist_version: int = 0
    highest_seen: dict[str, str] = {}


class TrustedKey(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    path: str
    public_pem: str


class TrustStore:
    """The files of ``trust/`` for one data root (plain file I/O; no caching, so a reader
    and the writer never disagree)."""

    def __init__(self, data_root: DataRoot) -> None:
        self.data_root = data_root
        self.dir = data_root.trust_dir
        self.keys_dir = self.dir / "keys"
        self.allowlist_path = self.dir / "allowlist.json"
        self.state_path = self.dir / "state.json"

    # ---- reading -------------------------------------------------------------------------

    def list_keys(self) -> list[TrustedKey]:
        """Every trusted key, by id; an unreadable key file is logged and skipped."""
        found: list[TrustedKey] = []
        if not self.keys_dir.is_dir():
            return found
        for path in sorted(self.keys_dir.glob("*.pub")):
            try:
                raw = load_public_key(path.read_bytes()[:MAX_KEY_BYTES], str(path))
            except (OSError, TrustError) as exc:
                log.warning("trust: skipping key file %s: %s", path, exc)
                continue
            if key_id(raw) != path.stem:
                log.warning("trust: skipping %s: it holds key %s", path, key_id(raw))
                continue
            found.append(
                TrustedKey(key_id=path.stem, path=str(path), public_pem=public_pem(raw).decode())
            )
        return found

    def trusted_keys(self) -> dict[str, bytes]:
        return {k.key_id: load_public_key(k.public_pem.encode()) for k in self.list_keys()}

    def state(self) -> TrustState:
        """The high-water marks; an unreadable state file is an error (failing closed: a
        lost state would re-open every rollback)."""
        try:
            data = self.state_path.read_bytes()
        except FileNotFoundError:
            return TrustState()
        except OSError as exc:
            raise TrustError(f"{self.state_path}: cannot be read ({exc.strerror})") from None
        try:
            return msgspec.json.decode(data, type=TrustState)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise TrustError(
                f"{self.state_path} is damaged ({exc}); restore it from a backup"
            ) from None

    def stored_allowlist(self) -> Allowlist | None:
        """The allowlist on disk, decoded but not verified (None when there is none)."""
        try:
            data = self.allowlist_path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AllowlistInvalid(
                f"{self.allowlist_path}: cannot be read ({exc.strerror})"
            ) from None
        return decode_allowlist(data)

    def policy(self, mode: TrustMode = "release") -> TrustPolicy:
        """The policy in force. An allowlist whose signer is no longer trusted (or that no
        longer verifies) is not in force: ``allowlist`` is then None."""
        trusted = self.trusted_keys()
        state = self.state()
        allowlist: Allowlist | None = None
        try:
            stored = self.stored_allowlist()
            if stored is not None:
                allowlist = accept_allowlist(TrustPolicy(trusted_keys=trusted), stored).allowlist
        except TrustError as exc:
            log.warning("trust: the stored allowlist is not in force: %s", exc)
        return TrustPolicy(
            mode=mode,
            trusted_keys=trusted,
            allowlist=allowlist,
            highest_allowlist_version=state.highest_allowlist_version,
            highest_seen=dict(state.highest_seen),
        )

    def allowlist_problem(self) -> str | None:
        """Why the stored allowlist is not in force (None when it is, or there is none)."""
        try:
            stored = self.stored_allowlist()
            if stored is not None:
                accept_allowlist(TrustPolicy(trusted_keys=self.trusted_keys()), stored)
        except TrustError as exc:
            return f"{exc.code}: {exc.message}"
        return None

    # ---- writing (Operations only) -------------------------------------------------------

    def _write_state(self, state: TrustState) -> None:
        write_atomic(self.state_path, msgspec.json.encode(state, order="sorted") + b"\n")

    def trust_key(self, pem: bytes | str) -> tuple[str, bool]:
        """Trust the Ed25519 public key in ``pem``: ``(key_id, newly_added)``."""
        data = pem.encode() if isinstance(pem, str) else pem
        if len(data) > MAX_KEY_BYTES:
            raise KeyInvalid(f"pem: a public key file is at most {MAX_KEY_BYTES} bytes")
        raw = load_public_key(data, "pem")
        kid = key_id(raw)
        path = self.keys_dir / f"{kid}.pub"
        ensure_private_dir(self.dir)
        ensure_private_dir(self.keys_dir)
        added = not path.exists()
        write_atomic(path, public_pem(raw))
        return kid, added

    def untrust_key(self, kid: str) -> Path:
        """Stop trusting ``kid``; packages and allowlists it signed stop verifying."""
        if KEY_ID_RE.fullmatch(kid) is None:
            raise UnknownKey(f"{kid!r} is not a key id (16 hex digits)", field="key_id")
        path = self.keys_dir / f"{kid}.pub"
        if not path.exists():
            raise UnknownKey(f"no trusted key {kid}", field="key_id")
        path.unlink()
        return path

    def set_allowlist(self, doc: bytes | dict[str, Any] | Allowlist) -> Allowlist:
        """Verify ``doc``, refuse a version not above the highest accepted, then store it
        and raise the high-water mark (state first: a crash between the two writes leaves
        the old allowlist in force and the new version still refused as a replay)."""
        state = self.state()
        policy = TrustPolicy(
            trusted_keys=self.trusted_keys(),
            highest_allowlist_version=state.highest_allowlist_version,
        )
        accepted = accept_allowlist(policy, decode_allowlist(doc))
        allowlist = accepted.allowlist
        assert allowlist is not None
        state.highest_allowlist_version = allowlist.version
        self._write_state(state)
        write_atomic(self.allowlist_path, encode_allowlist(allowlist) + b"\n")
        return allowlist

    def note_installed(self, plugin_id: str, version: str) -> bool:
        """Raise ``highest_seen[plugin_id]`` to ``version`` if higher; True if it moved."""
        check_slug(plugin_id, "plugin_id")
        if not is_version(version):
            raise TrustError(f"{version!r} is not a semantic version", field="version")
        state = self.state()
        current = state.highest_seen.get(plugin_id)
        if current is not None and compare_versions(version, current) <= 0:
            return False
        state.highest_seen[plugin_id] = version
        self._write_state(state)
        return True


__all__ = ["TrustState", "TrustStore", "TrustedKey"]
