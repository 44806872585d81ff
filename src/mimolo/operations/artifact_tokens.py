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
Files must live under ``DataRoot.instance_dir(plugin_id, instance_id)/artifacts``.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import ArtifactError
from mimolo.slugs import is_slug

DEFAULT_TTL_S: Final = 300.0
DEFAULT_MAX_TOKENS: Final = 4096
MAX_ARTIFACT_BYTES: Final = 16 * 1024 * 1024
MAX_REL_PATH: Final = 512
ARTIFACTS_DIRNAME: Final = "artifacts"

IMAGE_TYPES: Final = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
"""The only artifacts a widget may show: raster images (SVG is scriptable, so it is not here)."""


class ArtifactGrant(msgspec.Struct, frozen=True, kw_only=True):
    """One issued token and what it may open."""

    token: str
    plugin_id: str
    instance_id: str
    rel_path: str
    expires_at: float


class ResolvedArtifact(msgspec.Struct, frozen=True, kw_only=True):
    """A token's verified target: enough for Control to re-open and check the same file."""

    token: str
    plugin_id: str
    instance_id: str
    rel_path: str
    path: str
    bytes: int
    mime: str
    dev: int
    ino: int


def split_rel_path(rel_path: object) -> tuple[str, ...]:
    """Validate an artifact ``rel_path`` and return its components (``artifact_path_refused``)."""
    if not isinstance(rel_path, str) or not rel_path or len(rel_path) > MAX_REL_PATH:
        raise ArtifactError(f"invalid artifact path {rel_path!r}", code="artifact_path_refused")
    if rel_path.startswith("/") or "\\" in rel_path or not rel_path.isprintable():
        raise ArtifactError(
            f"artifact path {rel_path!r} must be relative and plain", code="artifact_path_refused"
        )
    parts = tuple(rel_path.split("/"))
    for part in parts:
        if part in ("", ".", "..") or len(part) > 255:
            raise ArtifactError(
                f"artifact path {rel_path!r} may not traverse or contain empty components",
                code="artifact_path_refused",
            )
    return parts


def image_mime(rel_path: str) -> str:
    """The MIME type for an image artifact, refusing every other kind of file."""
    dot = rel_path.rfind(".")
    mime = IMAGE_TYPES.get(rel_path[dot:].lower()) if dot > rel_path.rfind("/") else None
    if mime is None:
        raise ArtifactError(
            f"artifact {rel_path!r} is not an image type widgets may show "
            f"({', '.join(sorted(IMAGE_TYPES))})",
            code="artifact_path_refused",
        )
    return mime


def _open_step(name: str, dir_fd: int, *, directory: bool, rel_path: str) -> int:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_DIRECTORY if directory else 0)
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        raise ArtifactError(
            f"artifact {rel_path!r} does not exist", code="artifact_missing"
        ) from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise ArtifactError(
                f"artifact {rel_path!r} passes through a symlink or non-directory",
                code="artifact_path_refused",
            ) from None
        raise ArtifactError(
            f"artifact {rel_path!r} cannot be opened: {exc.strerror}", code="artifact_missing"
        ) from None


def open_artifact(data_root: DataRoot, plugin_id: str, instance_id: str, rel_path: str) -> int:
    """Open an artifact read-only without following any symlink below the data root.

    Every component from ``agents/`` down is opened relative to its parent's fd with
    ``O_NOFOLLOW``, so no symlink (and no rename race) can lead outside the subtree. The
    returned fd is a regular, singly linked file within the size cap; the caller closes it.
    """
    if not (is_slug(plugin_id) and is_slug(instance_id)):
        raise ArtifactError("invalid plugin or instance id", code="artifact_path_refused")
    parts = split_rel_path(rel_path)
    steps = ("agents", plugin_id, instance_id, ARTIFACTS_DIRNAME, *parts)
    try:
        fd = os.open(data_root.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise ArtifactError(
            f"data root unavailable: {exc.strerror}", code="artifact_missing"
        ) from None
    try:
        for index, name in enumerate(steps):
            last = index == len(steps) - 1
            next_fd = _open_step(name, fd, directory=not last, rel_path=rel_path)
            os.close(fd)
            fd = next_fd
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ArtifactError(
                f"artifact {rel_path!r} is not a file", code="artifact_path_refused"
            )
        if info.st_nlink != 1:
            raise ArtifactError(
                f"artifact {rel_path!r} is hard-linked elsewhere", code="artifact_path_refused"
            )
        if info.st_size > MAX_ARTIFACT_BYTES:
            raise ArtifactError(
                f"artifact {rel_path!r} is larger than {MAX_ARTIFACT_BYTES} bytes",
                code="artifact_path_refused",
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


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
        fd = open_artifact(self._root, grant.plugin_id, grant.instance_id, grant.rel_path)
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


def read_verified(data_root: DataRoot, resolved: ResolvedArtifact) -> bytes:
    """Re-open a resolved artifact the same safe way and return its bytes if it is still it.

    Control calls this after ``resolve_artifact_token``: the device/inode check defeats a
    file swapped between resolution and reading; the magic-number check defeats a renamed
    non-image.
    """
    fd = open_artifact(data_root, resolved.plugin_id, resolved.instance_id, resolved.rel_path)
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != (resolved.dev, resolved.ino):
            raise ArtifactError("artifact changed after resolution", code="artifact_path_refused")
        chunks: list[bytes] = []
        remaining = MAX_ARTIFACT_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    body = b"".join(chunks)
    if len(body) > MAX_ARTIFACT_BYTES:
        raise ArtifactError("artifact grew past the size cap", code="artifact_path_refused")
    if sniff_image(body) != resolved.mime:
        raise ArtifactError(
            f"artifact {resolved.rel_path!r} is not a {resolved.mime} image",
            code="artifact_path_refused",
        )
    return body


def sniff_image(head: bytes) -> str | None:
    """The image type its magic number says, or None: a served artifact must really be one."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


__all__ = [
    "DEFAULT_TTL_S",
    "IMAGE_TYPES",
    "MAX_ARTIFACT_BYTES",
    "ArtifactGrant",
    "ArtifactTokenStore",
    "ResolvedArtifact",
    "image_mime",
    "open_artifact",
    "read_verified",
    "sniff_image",
    "split_rel_path",
]
