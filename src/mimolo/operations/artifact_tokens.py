"""Short-lived artifact tokens: how a widget image reaches the browser without exposing paths.

Operations exchanges an agent's ``mimolo://artifact/<rel_path>`` for an unguessable token
scoped to one ``(plugin_id, instance_id, rel_path)`` with a TTL. Control presents the token
back (``resolve_artifact_token``) and gets the verified file's identity; nothing else about
the file system is ever reachable from a page.

Resolution refuses, each with its own ``ArtifactError`` code: unknown tokens
(``artifact_token_unknown``), expired ones (``artifact_token_expired``), a token presented
for another instance (``artifact_scope_mismatch``), paths that are absolute, traverse, pass
through a symlink at any component, are hard-linked, are not regular files or not an image
type (``artifact_path_refused``), and targets that do not exist (``artifact_missing``).
Files must live under ``DataRoot.instance_dir(plugin_id, instance_id)/artifacts``; how
they are opened and checked is ``mimolo.artifact_files``.
"""

from __future__ import annotations

import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

import msgspec

from mimolo.artifact_files import (
    ARTIFACTS_DIRNAME,
    ResolvedArtifact,
    image_mime,
    open_artifact,
    split_rel_path,
)
from mimolo.dataroot import DataRoot
from mimolo.errors import ArtifactError
from mimolo.operations.artifacts.tombstones import find_tombstone, purged_message
from mimolo.slugs import is_slug

DEFAULT_TTL_S: Final = 300.0
DEFAULT_MAX_TOKENS: Final = 4096


def purged_or(
    exc: ArtifactError, root: DataRoot, plugin_id: str, instance_id: str, rel_path: str
) -> ArtifactError:
    """A missing artifact that a purge deleted says so ("purged (archived in X)")."""
    if exc.code != "artifact_missing":
        return exc
    stone = find_tombstone(root.instance_dir(plugin_id, instance_id), rel_path)
    if stone is None:
        return exc
    return ArtifactError(f"artifact {rel_path!r}: {purged_message(stone)}", code="artifact_missing")


class ArtifactGrant(msgspec.Struct, frozen=True, kw_only=True):
    """One issued token and what it may open."""

    token: str
    plugin_id: str
    instance_id: str
    rel_path: str
    expires_at: float


class ArtifactTokenStore:
    """Issues and resolves tokens; bounded, with an injected clock for expiry."""

    def __init__(
        self,
        data_root: DataRoot,
        *,
        clock: Callable[[], float] = time.monotonic,
        ttl_s: float = DEFAULT_TTL_S,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self._root = data_root
        self._clock = clock
        self._ttl_s = ttl_s
        self._max = max_tokens
        self._grants: OrderedDict[str, ArtifactGrant] = OrderedDict()
        self._by_target: dict[tuple[str, str], str] = {}

    @property
    def ttl_s(self) -> float:
        return self._ttl_s

    def __len__(self) -> int:
        return len(self._grants)

    def issue(self, plugin_id: str, instance_id: str, rel_path: str) -> ArtifactGrant:
        """A token for one instance's image artifact (reusing one with most of its life left)."""
        if not (is_slug(plugin_id) and is_slug(instance_id)):
            raise ArtifactError("invalid plugin or instance id", code="artifact_path_refused")
        split_rel_path(rel_path)
        image_mime(rel_path)
        now = self._clock()
        existing = self._by_target.get((instance_id, rel_path))
        if existing is not None:
            grant = self._grants.get(existing)
            if (
                grant is not None
                and grant.plugin_id == plugin_id
                and grant.expires_at - now >= self._ttl_s / 2
            ):
                return grant
        self._make_room(now)
        grant = ArtifactGrant(
            token=secrets.token_urlsafe(24),
            plugin_id=plugin_id,
            instance_id=instance_id,
            rel_path=rel_path,
            expires_at=now + self._ttl_s,
        )
        self._grants[grant.token] = grant
        self._by_target[(instance_id, rel_path)] = grant.token
        return grant

    def resolve(
        self, token: str, *, instance_id: str | None = None, plugin_id: str | None = None
    ) -> ResolvedArtifact:
        """Check a token (and the scope it is presented for) and verify its file."""
        grant = self._grants.get(token) if isinstance(token, str) else None
        if grant is None:
            raise ArtifactError("unknown artifact token", code="artifact_token_unknown")
        if self._clock() >= grant.expires_at:
            self._forget(grant)
            raise ArtifactError("artifact token expired", code="artifact_token_expired")
        if (instance_id is not None and instance_id != grant.instance_id) or (
            plugin_id is not None and plugin_id != grant.plugin_id
        ):
            raise ArtifactError(
                "artifact token belongs to another instance", code="artifact_scope_mismatch"
            )
        mime = image_mime(grant.rel_path)
        try:
            fd = open_artifact(self._root, grant.plugin_id, grant.instance_id, grant.rel_path)
        except ArtifactError as exc:
            raise purged_or(
                exc, self._root, grant.plugin_id, grant.instance_id, grant.rel_path
            ) from None
        try:
            info = os.fstat(fd)
        finally:
            os.close(fd)
        path = self._root.instance_dir(grant.plugin_id, grant.instance_id) / ARTIFACTS_DIRNAME
        return ResolvedArtifact(
            token=grant.token,
            plugin_id=grant.plugin_id,
            instance_id=grant.instance_id,
            rel_path=grant.rel_path,
            path=str(path.joinpath(*split_rel_path(grant.rel_path))),
            bytes=info.st_size,
            mime=mime,
            dev=info.st_dev,
            ino=info.st_ino,
        )

    def revoke_instance(self, instance_id: str) -> int:
        """Drop every token of an instance (removed, archived or purged); returns the count."""
        doomed = [g for g in self._grants.values() if g.instance_id == instance_id]
        for grant in doomed:
            self._forget(grant)
        return len(doomed)

    def _forget(self, grant: ArtifactGrant) -> None:
        self._grants.pop(grant.token, None)
        key = (grant.instance_id, grant.rel_path)
        if self._by_target.get(key) == grant.token:
            del self._by_target[key]

    def _make_room(self, now: float) -> None:
        """Keep the store bounded: drop expired grants first, then the oldest."""
        if len(self._grants) < self._max:
            return
        for grant in [g for g in self._grants.values() if g.expires_at <= now]:
            self._forget(grant)
        while len(self._grants) >= self._max:
            _token, oldest = next(iter(self._grants.items()))
            self._forget(oldest)


__all__ = ["DEFAULT_MAX_TOKENS", "DEFAULT_TTL_S", "ArtifactGrant", "ArtifactTokenStore"]
