"""Trust commands: ``get_trust_policy`` (DESIGN §7) and the mutations of ``trust/``,
``trust_key`` {pem}, ``untrust_key`` {key_id} and ``set_allowlist`` {allowlist}.
Operations is the only writer of ``trust/``; every decision, accepted or refused, leaves an
audit record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, TypeVar

import msgspec

from mimolo.errors import MimoloError
from mimolo.ipc.server.context import IpcContext
from mimolo.ipc.server.registry import Command, NoParams
from mimolo.operations.trust_store import TrustStore
from mimolo.packages.policy import TrustMode

RequestVia = Literal["ipc", "cli", "control"]
T = TypeVar("T")


class TrustKeyParams(msgspec.Struct, forbid_unknown_fields=True):
    pem: str
    via: RequestVia = "ipc"


class UntrustKeyParams(msgspec.Struct, forbid_unknown_fields=True):
    key_id: str
    via: RequestVia = "ipc"


class SetAllowlistParams(msgspec.Struct, forbid_unknown_fields=True):
    allowlist: dict[str, Any]
    via: RequestVia = "ipc"


def trust_mode(ctx: IpcContext) -> TrustMode:
    """``developer`` when Operations runs in developer mode (``--developer-mode`` or the
    ``developer_mode`` setting), else ``release``."""
    if ctx.packages is not None and ctx.packages.developer_mode:
        return "developer"
    return "developer" if ctx.store.load().settings.developer_mode else "release"


def _decided(ctx: IpcContext, action: str, via: str, run: Callable[[], T], **fields: Any) -> T:
    """Run a trust mutation and record the decision either way (refusals too)."""
    try:
        result = run()
    except MimoloError as exc:
        ctx.refused(action, via, exc, **fields)
        raise
    return result


def policy_view(store: TrustStore, mode: TrustMode) -> dict[str, Any]:
    """The policy in force, as answered by ``get_trust_policy`` (and shown by the CLI)."""
    policy = store.policy(mode)
    allowlist = policy.allowlist
    return {
        "mode": mode,
        "developer_mode": mode == "developer",
        "trusted_keys": [
            {"key_id": k.key_id, "public_pem": k.public_pem} for k in store.list_keys()
        ],
        "allowlist": None
        if allowlist is None
        else {
            "version": allowlist.version,
            "key_id": allowlist.key_id,
            "entries": [msgspec.to_builtins(e) for e in allowlist.entries],
        },
        "allowlist_problem": store.allowlist_problem(),
        "highest_allowlist_version": policy.highest_allowlist_version,
        "highest_seen": policy.highest_seen,
    }


async def get_trust_policy(ctx: IpcContext, params: NoParams) -> dict[str, Any]:
    """The mode, trusted keys, the allowlist in force and the high-water marks."""
    return policy_view(TrustStore(ctx.data_root), trust_mode(ctx))


async def trust_key(ctx: IpcContext, params: TrustKeyParams) -> dict[str, Any]:
    """Trust a publisher's Ed25519 public key (PEM); answers its ``key_id``."""
    store = TrustStore(ctx.data_root)
    kid, added = _decided(ctx, "trust_key", params.via, lambda: store.trust_key(params.pem))
    ctx.diagnostics.record(
        "audit", action="trust_key", via=params.via, outcome="accepted", key_id=kid, added=added
    )
    return {"key_id": kid, "added": added}


async def untrust_key(ctx: IpcContext, params: UntrustKeyParams) -> dict[str, Any]:
    """Stop trusting a key: its packages and allowlists no longer verify."""
    store = TrustStore(ctx.data_root)
    _decided(
        ctx, "untrust_key", params.via, lambda: store.untrust_key(params.key_id),
        key_id=params.key_id,
    )  # fmt: skip
    ctx.diagnostics.record(
        "audit", action="untrust_key", via=params.via, outcome="accepted", key_id=params.key_id
    )
    return {"key_id": params.key_id, "removed": True}


async def set_allowlist(ctx: IpcContext, params: SetAllowlistParams) -> dict[str, Any]:
    """Put a signed allowlist in force (verified; a version not above the highest accepted
    is ``allowlist_rollback``)."""
    store = TrustStore(ctx.data_root)
    version = params.allowlist.get("version")
    accepted = _decided(
        ctx, "set_allowlist", params.via, lambda: store.set_allowlist(params.allowlist),
        version=version if isinstance(version, int) else None,
    )  # fmt: skip
    ctx.diagnostics.record(
        "audit",
        action="set_allowlist",
        via=params.via,
        outcome="accepted",
        version=accepted.version,
        key_id=accepted.key_id,
        entries=len(accepted.entries),
    )
    return {
        "version": accepted.version,
        "key_id": accepted.key_id,
        "entries": [msgspec.to_builtins(e) for e in accepted.entries],
    }


COMMANDS: Final[list[Command[IpcContext, Any]]] = [
    Command("get_trust_policy", NoParams, get_trust_policy),
    Command("trust_key", TrustKeyParams, trust_key, mutating=True),
    Command("untrust_key", UntrustKeyParams, untrust_key, mutating=True),
    Command("set_allowlist", SetAllowlistParams, set_allowlist, mutating=True),
]


__all__ = [
    "COMMANDS",
    "SetAllowlistParams",
    "TrustKeyParams",
    "UntrustKeyParams",
    "get_trust_policy",
    "policy_view",
    "set_allowlist",
    "trust_key",
    "trust_mode",
    "untrust_key",
]
