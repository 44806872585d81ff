"""The ledger's hash chain and signed checkpoints (DESIGN §5): the format, nothing else.

Each ledger line is the wrapped record (``EvidenceRecord`` without chain fields: the
*body*) with two fields appended last, in this exact form::

    {...body fields...,"prev":"<64 hex>","hash":"<64 hex>"}

``digest = sha256(body)`` where ``body`` is the line without the chain tail (closed with
``}``), and ``hash = sha256(bytes.fromhex(prev) + digest)``. The first record of a chain has
``prev`` = 64 zeros. Hashing the digest rather than the body lets an evidence pack replace a
record it must not disclose by a *redacted link* ``{"seq":N,"digest":"<hex>","prev":...,
"hash":...}`` whose hash still recomputes, so the chain is checked end to end.

A checkpoint is a JSON object signed with Operations' Ed25519 host key over its canonical
bytes (sorted keys, no spaces, ASCII) without ``sig``. This module needs only the standard
library and ``cryptography``: evidence packs ship it verbatim beside their verifier.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any, NamedTuple

ZERO_HASH = "0" * 64
CHECKPOINT_VERSION = 1
CHECKPOINT_KINDS = ("chain_start", "chain_resume", "day_close", "shutdown")

_PREV = b',"prev":"'
_HASH = b'","hash":"'
_END = b'"}'
_END_NL = b'"}\n'
TAIL_LEN = len(_PREV) + 64 + len(_HASH) + 64 + len(_END)
_SEQ = b'{"seq":'
_DIGEST = b',"digest":"'
_HEX_RE = re.compile(rb"[0-9a-f]{64}")
_SEQ_RE = re.compile(rb'\{"seq":(\d+)[,}]')
_TAIL_RE = re.compile(rb',"prev":"([0-9a-f]{64})","hash":"([0-9a-f]{64})"\}\Z')
_REDACTED_RE = re.compile(rb'\{"seq":\d+,"digest":"([0-9a-f]{64})"')


class Link(NamedTuple):
    """One parsed chain link: a full record (``redacted`` False) or a redacted link (a
    tuple: millions are made per verification)."""

    seq: int
    prev: str
    hash: str
    digest: bytes
    redacted: bool

    def recomputed(self) -> str:
        """The hash this link must carry given its ``prev`` and ``digest``."""
        return link_hash(self.prev, self.digest)


def link_hash(prev: str, digest: bytes) -> str:
    """``sha256(prev bytes + digest)`` as hex."""
    return hashlib.sha256(bytes.fromhex(prev) + digest).hexdigest()


def chain_line(body: bytes, prev: str) -> tuple[bytes, str]:
    """The chained ledger line (newline-terminated) for ``body`` and its hash (on the
    ingest path: one call per record)."""
    obj = body[:-1] if body.endswith(b"}\n") else body.rstrip(b"\r\n")
    if not obj.endswith(b"}"):
        raise ValueError("a ledger body is a JSON object")
    hashed = hashlib.sha256(bytes.fromhex(prev) + hashlib.sha256(obj).digest()).hexdigest()
    return b"".join((obj[:-1], _PREV, prev.encode(), _HASH, hashed.encode(), _END_NL)), hashed


def redacted_line(link: Link) -> bytes:
    """A redacted link (no record content) that still verifies; newline-terminated."""
    return b"".join(
        (
            _SEQ,
            str(link.seq).encode(),
            _DIGEST,
            link.digest.hex().encode(),
            b'"',
            _PREV,
            link.prev.encode(),
            _HASH,
            link.hash.encode(),
            _END,
            b"\n",
        )
    )


def _is_hex64(value: bytes) -> bool:
    return len(value) == 64 and _HEX_RE.fullmatch(value) is not None


def parse_seq(line: bytes) -> int | None:
    """The ``seq`` of a ledger or link line (it is always the first field), or None."""
    match = _SEQ_RE.match(line)
    return int(match.group(1)) if match else None


def parse_link(line: bytes) -> Link | None:
    """The chain link of a line, or None when the line carries none (an unchained record
    from before the chain started, or a line that is not a record at all)."""
    line = line.rstrip(b"\r\n")
    cut = len(line) - TAIL_LEN
    tail = _TAIL_RE.match(line, cut) if cut > 8 else None
    if tail is None:
        return None
    seq = _SEQ_RE.match(line)
    if seq is None:
        return None
    prev, hashed = tail.group(1).decode(), tail.group(2).decode()
    after_seq = seq.end() - 1
    if line.startswith(_DIGEST, after_seq):
        redacted = _REDACTED_RE.fullmatch(line, 0, cut)
        if redacted is None:
            return None
        return Link(
            int(seq.group(1)), prev, hashed, bytes.fromhex(redacted.group(1).decode()), True
        )
    digest = hashlib.sha256(line[:cut] + b"}").digest()
    return Link(int(seq.group(1)), prev, hashed, digest, False)


def body_of(line: bytes) -> bytes:
    """A chained line without its chain tail (the bytes its digest covers)."""
    line = line.rstrip(b"\r\n")
    if parse_link(line) is None:
        return line
    return line[:-TAIL_LEN] + b"}"


# ---- checkpoints ------------------------------------------------------------------------


def canonical(doc: dict[str, Any]) -> bytes:
    """The signed bytes of a checkpoint: every field but ``sig``, sorted, compact, ASCII."""
    rest = {k: v for k, v in doc.items() if k != "sig"}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def key_id(public_raw: bytes) -> str:
    """A short, stable name of a public key: the first 16 hex of its SHA-256."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def sign_checkpoint(doc: dict[str, Any], private_key: Any) -> dict[str, Any]:
    """``doc`` with its ``sig`` (base64 Ed25519 over ``canonical(doc)``)."""
    signature = private_key.sign(canonical(doc))
    return {**doc, "sig": base64.b64encode(signature).decode()}


def signature_ok(doc: dict[str, Any], public_raw: bytes) -> bool:
    """True when ``doc['sig']`` is a valid signature of ``canonical(doc)`` by that key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    sig = doc.get("sig")
    if not isinstance(sig, str):
        return False
    try:
        raw_sig = base64.b64decode(sig, validate=True)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(raw_sig, canonical(doc))
    except (InvalidSignature, ValueError):
        return False
    return True


def anchor_string(doc: dict[str, Any]) -> str:
    """A checkpoint as one short line to paste into an email or a ticket."""
    return f"mimolo-anchor:1:{doc['key_id']}:{doc['seq']}:{doc['hash']}"


def parse_anchor(text: str) -> tuple[str, int, str]:
    """``(key_id, seq, hash)`` of an anchor string; ValueError when it is not one."""
    parts = text.strip().split(":")
    if len(parts) != 5 or parts[:2] != ["mimolo-anchor", "1"]:
        raise ValueError("not a mimolo anchor (mimolo-anchor:1:<key>:<seq>:<hash>)")
    key, seq, hashed = parts[2], parts[3], parts[4]
    if not (seq.isdigit() and _is_hex64(hashed.encode()) and len(key) == 16):
        raise ValueError("a mimolo anchor names a 16-hex key id, a seq and a 64-hex hash")
    return key, int(seq), hashed


__all__ = [
    "CHECKPOINT_KINDS",
    "CHECKPOINT_VERSION",
    "TAIL_LEN",
    "ZERO_HASH",
    "Link",
    "anchor_string",
    "body_of",
    "canonical",
    "chain_line",
    "key_id",
    "link_hash",
    "parse_anchor",
    "parse_link",
    "parse_seq",
    "redacted_line",
    "sign_checkpoint",
    "signature_ok",
]
