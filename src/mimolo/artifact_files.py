"""Artifact files: the one safe way to open a file under an instance's ``artifacts/``.

Shared by Operations (which resolves artifact tokens) and Control (which reads the file a
token resolved to). An artifact path is relative and plain; every component is opened
with ``O_NOFOLLOW`` below ``DataRoot.instance_dir(plugin_id, instance_id)/artifacts``; a
file must be regular, not hard-linked, an image by name and by magic number, and within
the size cap. Each refusal is an ``ArtifactError`` with its own code.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Final

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import ArtifactError
from mimolo.slugs import is_slug

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
    "ARTIFACTS_DIRNAME",
    "IMAGE_TYPES",
    "MAX_ARTIFACT_BYTES",
    "MAX_REL_PATH",
    "ResolvedArtifact",
    "image_mime",
    "open_artifact",
    "read_verified",
    "sniff_image",
    "split_rel_path",
]
