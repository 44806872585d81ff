"""Semantic versions (semver.org 2.0.0 precedence) and protocol ranges such as
``>=0.3,<0.5``: our own few lines, because PEP 440 orders pre-releases differently."""

from __future__ import annotations

import re
from typing import Final, NamedTuple

_NUM: Final = r"(?:0|[1-9]\d*)"
_IDENT: Final = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER_RE: Final = re.compile(
    rf"^({_NUM})\.({_NUM})\.({_NUM})"
    rf"(?:-({_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
MAX_VERSION_LEN: Final = 64
_CLAUSE_RE: Final = re.compile(r"^(>=|<=|==|!=|>|<)(\d{1,6}(?:\.\d{1,6}){0,2})$")


class Version(NamedTuple):
    """A parsed semver; compare with ``key()`` (build metadata has no precedence)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...]
    build: str

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """The precedence key: a release sorts after its pre-releases; numeric identifiers
        sort numerically and before alphanumeric ones."""
        pre = tuple(
            (0, int(part), "") if part.isdigit() else (1, 0, part) for part in self.prerelease
        )
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)


def parse_version(text: str) -> Version:
    """The semver in ``text``; ``ValueError`` naming the rule when it is not one."""
    match = SEMVER_RE.fullmatch(text) if len(text) <= MAX_VERSION_LEN else None
    if match is None:
        raise ValueError(f"{text[:80]!r} is not a semantic version (such as 1.2.3 or 1.2.3-rc.1)")
    major, minor, patch, pre, build = match.groups()
    return Version(
        int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (), build or ""
    )


def is_version(text: object) -> bool:
    return (
        isinstance(text, str)
        and len(text) <= MAX_VERSION_LEN
        and SEMVER_RE.fullmatch(text) is not None
    )


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` has lower, equal or higher precedence than ``b``."""
    ka, kb = parse_version(a).key(), parse_version(b).key()
    return (ka > kb) - (ka < kb)


def _numbers(text: str) -> tuple[int, int, int]:
    parts = [int(p) for p in text.split(".")]
    parts += [0] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def parse_range(text: str) -> list[tuple[str, tuple[int, int, int]]]:
    """The clauses of a range such as ``>=0.3,<0.5`` (numeric versions, 1-3 parts)."""
    if not isinstance(text, str) or not text.strip() or len(text) > 200:
        raise ValueError("a range is one or more clauses such as >=0.3,<0.5")
    clauses = []
    for raw in text.split(","):
        match = _CLAUSE_RE.fullmatch(raw.strip())
        if match is None:
            raise ValueError(f"{raw.strip()!r} is not a clause like >=0.3 or <0.5")
        clauses.append((match.group(1), _numbers(match.group(2))))
    return clauses


def range_accepts(text: str, version: str) -> bool:
    """Whether ``version`` (``0.3``, ``0.4.1`` …) satisfies every clause of the range."""
    have = _numbers(version)
    checks = {
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
    }
    return all(checks[op](have, want) for op, want in parse_range(text))


__all__ = [
    "MAX_VERSION_LEN",
    "SEMVER_RE",
    "Version",
    "compare_versions",
    "is_version",
    "parse_range",
    "parse_version",
    "range_accepts",
]
