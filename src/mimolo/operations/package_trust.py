"""One package's trust state as Operations shows and enforces it: the policy in force
(``trust/`` and the mode) applied to a package, a refusal turned into plain data."""

from __future__ import annotations

from typing import Literal

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import TrustError
from mimolo.operations.trust_store import TrustStore
from mimolo.packages.policy import TrustDecision, check_package
from mimolo.packages.signing import RawPackage, signer_of

TrustState = Literal["verified", "UNVERIFIED", "refused"]


class TrustView(msgspec.Struct, frozen=True, kw_only=True):
    """``trusted``: may install or run in this mode; ``state`` what every view shows;
    ``reason`` and ``code`` why it is not verified (or refused)."""

    trusted: bool
    verified: bool
    state: TrustState
    signer: str | None = None
    claimed_signer: str | None = None
    reason: str | None = None
    code: str | None = None


def decide(
    data_root: DataRoot, raw: RawPackage, *, developer: bool, for_launch: bool
) -> TrustDecision:
    """The policy's decision (release mode raises the first ``TrustError``)."""
    policy = TrustStore(data_root).policy("developer" if developer else "release")
    return check_package(raw, policy, for_launch=for_launch)


def view_of(decision: TrustDecision) -> TrustView:
    return TrustView(
        trusted=decision.trusted,
        verified=decision.verified,
        state="verified" if decision.verified else "UNVERIFIED",
        signer=decision.signer,
        claimed_signer=decision.claimed_signer,
        reason="; ".join(decision.reasons) or None,
        code=decision.codes[0] if decision.codes else None,
    )


def trust_view(
    data_root: DataRoot, raw: RawPackage, *, developer: bool, for_launch: bool = True
) -> TrustView:
    """``decide`` as data: a release-mode refusal is ``state="refused"`` with its code."""
    try:
        return view_of(decide(data_root, raw, developer=developer, for_launch=for_launch))
    except TrustError as exc:
        return TrustView(
            trusted=False,
            verified=False,
            state="refused",
            claimed_signer=signer_of(raw),
            reason=exc.message,
            code=exc.code,
        )


__all__ = ["TrustState", "TrustView", "decide", "trust_view", "view_of"]
