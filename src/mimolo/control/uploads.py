"""Package uploads held by Control between "inspect" and "confirm".

The browser posts one ``multipart/form-data`` file part named ``package``; its bytes are
streamed by python-multipart straight into ``<root>/control/uploads/<id>.zip`` (0600 in a
0700 folder), counted against ``MAX_UPLOAD_BYTES`` as they arrive: nothing is buffered
whole, nothing goes to the system temp dir, and the client never names a path (its file
name is kept for display only). A refused body removes its partial file. A held upload is
deleted once used, cancelled, expired (``ttl_s`` on the injected clock) or pushed out by
newer ones, and every stray file goes when the store is cleared.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
import unicodedata
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from mimolo.dataroot import DIR_MODE, FILE_MODE
from mimolo.errors import UploadInvalid, UploadTooLarge, UploadUnknown

MAX_UPLOAD_BYTES: Final = 64 * 1024 * 1024
"""The largest package Control accepts from a browser."""
MULTIPART_SLACK: Final = 64 * 1024
"""Room for the multipart framing (boundaries and part headers) around the file."""
FIELD_NAME: Final = "package"
UPLOAD_TTL_S: Final = 15 * 60.0
MAX_PENDING: Final = 4
MAX_NAME: Final = 200
_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class Upload:
    """One received package file, waiting for the user's decision."""

    upload_id: str
    path: Path
    file_name: str
    size: int
    received_at: float
    inspection: dict[str, Any] = field(default_factory=dict)


def display_name(raw: str) -> str:
    """The client's file name reduced to something safe to show (never used as a path)."""
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    shown = "".join(c for c in unicodedata.normalize("NFC", base) if c.isprintable())
    return shown[:MAX_NAME] or "package.zip"


class _PartSink:
    """python-multipart callbacks writing the one file part to ``fd``, capped."""

    def __init__(self, fd: int, cap: int) -> None:
        self.fd = fd
        self.cap = cap
        self.size = 0
        self.parts = 0
        self.file_name: str | None = None
        self.ended = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._writing = False

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > 1:
            raise UploadInvalid(f"the form carries more than one part; send only {FIELD_NAME!r}")
        self._disposition = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        kind, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if kind != b"form-data" or name != FIELD_NAME or b"filename" not in options:
            raise UploadInvalid(f"expected one file part named {FIELD_NAME!r}")
        self.file_name = display_name(options[b"filename"].decode("utf-8", "replace"))
        self._writing = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._writing:
            raise UploadInvalid("the part's data came before its headers")
        self.size += end - start
        if self.size > self.cap:
            raise UploadTooLarge(_too_large(self.cap))
        view = memoryview(data)[start:end]
        while view:
            view = view[os.write(self.fd, view) :]

    def _end(self) -> None:
        self.ended = True


def boundary_of(content_type: str) -> bytes:
    """The multipart boundary, or ``UploadInvalid`` when the body is not multipart."""
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise UploadInvalid("a package upload is sent as multipart/form-data")
    boundary = params.get(b"boundary", b"")
    if not boundary or len(boundary) > 70:
        raise UploadInvalid("the multipart body has no usable boundary")
    return boundary


async def stream_to_file(
    chunks: AsyncIterator[bytes], content_type: str, target: Path, *, cap: int
) -> tuple[str, int]:
    """Parse a multipart body into ``target`` (created 0600, exclusive); the display name
    and size of the file. On any refusal ``target`` is removed."""
    boundary = boundary_of(content_type)
    fd = os.open(target, _FLAGS, FILE_MODE)
    try:
        sink = _PartSink(fd, cap)
        parser = MultipartParser(boundary, sink.callbacks())  # type: ignore[arg-type]
        body = 0
        async for chunk in chunks:
            body += len(chunk)
            if body > cap + MULTIPART_SLACK:
                raise UploadTooLarge(_too_large(cap))
            parser.write(chunk)
        parser.finalize()
        if not sink.ended or sink.file_name is None:
            raise UploadInvalid("the multipart body ended before its closing boundary")
        if sink.size == 0:
            raise UploadInvalid("the uploaded file is empty")
        os.fsync(fd)
    except FormParserError as exc:
        _remove(target)
        raise UploadInvalid(f"the multipart body is malformed: {exc}") from None
    except BaseException:
        _remove(target)
        raise
    finally:
        os.close(fd)
    return sink.file_name, sink.size


def _too_large(cap: int) -> str:
    return f"a package upload may be at most {cap / (1 << 20):g} MiB"


def remove_file(upload: Upload) -> None:
    """Delete a taken upload's file (no error when it is already gone)."""
    _remove(upload.path)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class PendingUploads:
    """The uploads waiting for a decision, each a private file named by a random id."""

    def __init__(
        self,
        folder: Path,
        *,
        cap: int = MAX_UPLOAD_BYTES,
        ttl_s: float = UPLOAD_TTL_S,
        max_pending: int = MAX_PENDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self.cap = cap
        self.ttl_s = ttl_s
        self.max_pending = max_pending
        self._clock = clock
        self._held: OrderedDict[str, Upload] = OrderedDict()

    def _ensure_folder(self) -> None:
        self.folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if self.folder.is_symlink() or not self.folder.is_dir():
            raise UploadInvalid("Control's upload folder is not a plain folder")
        os.chmod(self.folder, DIR_MODE)

    async def receive(
        self, chunks: AsyncIterator[bytes], content_type: str, content_length: int | None
    ) -> Upload:
        """Stream a multipart body into a new held upload (refusing early what is too big)."""
        if content_length is not None and content_length > self.cap + MULTIPART_SLACK:
            raise UploadTooLarge(_too_large(self.cap))
        boundary_of(content_type)
        self.expire()
        self._ensure_folder()
        upload_id = secrets.token_urlsafe(18)
        path = self.folder / f"{upload_id}.zip"
        name, size = await stream_to_file(chunks, content_type, path, cap=self.cap)
        upload = Upload(upload_id, path, name, size, self._clock())
        self._held[upload_id] = upload
        while len(self._held) > self.max_pending:
            _, oldest = self._held.popitem(last=False)
            _remove(oldest.path)
        return upload

    def get(self, upload_id: str) -> Upload:
        """The held upload ``upload_id``; ``UploadUnknown`` when used, expired or never."""
        self.expire()
        upload = self._held.get(upload_id)
        if upload is None:
            raise UploadUnknown(
                "that upload is no longer held (used, cancelled or expired); choose the file again"
            )
        return upload

    def take(self, upload_id: str) -> Upload:
        """Stop holding ``upload_id`` and hand it over (the caller deletes its file after
        use), so a second confirmation of the same upload is ``UploadUnknown``."""
        upload = self.get(upload_id)
        del self._held[upload_id]
        return upload

    def discard(self, upload_id: str) -> None:
        """Forget an upload and delete its file (no error when it is already gone)."""
        upload = self._held.pop(upload_id, None)
        if upload is not None:
            _remove(upload.path)

    def expire(self) -> None:
        """Delete uploads older than ``ttl_s``."""
        now = self._clock()
        for upload_id, upload in list(self._held.items()):
            if now - upload.received_at >= self.ttl_s:
                self.discard(upload_id)

    def clear(self) -> None:
        """Delete every held upload and any stray file in the folder (a previous run's)."""
        for upload_id in list(self._held):
            self.discard(upload_id)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for stray in self.folder.iterdir():
                if stray.is_file() or stray.is_symlink():
                    _remove(stray)

    def __len__(self) -> int:
        return len(self._held)


__all__ = [
    "FIELD_NAME",
    "MAX_UPLOAD_BYTES",
    "PendingUploads",
    "Upload",
    "boundary_of",
    "display_name",
    "remove_file",
    "stream_to_file",
]
