"""The one error table: every code raised in ``src/`` is in ``CODES``, every exception class
lives in ``mimolo.errors`` with its own code and HTTP status, and ``ERROR_CODES`` is the
table's wire part."""

from __future__ import annotations

import ast
import inspect
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from mimolo import errors
from mimolo.errors import (
    CODES,
    ConfigError,
    InvalidField,
    LineRejected,
    MimoloError,
    RemoteError,
    WidgetError,
)
from mimolo.ipc.types import ERROR_CODES

SRC = Path(errors.__file__).resolve().parent
ERRORS_PY = Path(errors.__file__).resolve()
HELPERS = {"error_response": 2, "json_error": 0}
"""Functions that take an error code, and the position of that argument."""

CLASSES = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, MimoloError) and cls.__module__ == errors.__name__
]


def _strings(node: ast.expr | None) -> Iterator[str]:
    """String constants ``node`` can evaluate to (``a if x else "b"``, ``x or "c"``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _strings(value)


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _passthrough(tree: ast.Module) -> dict[str, tuple[str, int | None]]:
    """Functions that raise with ``code=<one of their parameters>``: name -> (parameter,
    its position among the call's arguments, not counting ``self``)."""
    found: dict[str, tuple[str, int | None]] = {}
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        positional = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
        if positional[:1] in (["self"], ["cls"]):
            positional = positional[1:]
        names = {*positional, *(a.arg for a in fn.args.kwonlyargs)}
        for call in ast.walk(fn):
            if not isinstance(call, ast.Call):
                continue
            for kw in call.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Name) and kw.value.id in names:
                    param = kw.value.id
                    found[fn.name] = (
                        param,
                        positional.index(param) if param in positional else None,
                    )
    return found


def _codes_in(tree: ast.Module) -> Iterator[tuple[str, int]]:
    passthrough = _passthrough(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            for kw in node.keywords:
                if kw.arg == "code" or (name in passthrough and kw.arg == passthrough[name][0]):
                    yield from ((code, node.lineno) for code in _strings(kw.value))
            position = HELPERS.get(name or "")
            if name in passthrough:
                position = passthrough[name][1]
            if position is not None and len(node.args) > position:
                yield from ((code, node.lineno) for code in _strings(node.args[position]))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "code" for t in targets):
                yield from ((code, node.lineno) for code in _strings(node.value))


def raised_codes() -> dict[str, list[str]]:
    """Every error code written in ``src/mimolo``: code -> where."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for code, line in _codes_in(tree):
            found[code].append(f"{path.relative_to(SRC)}:{line}")
    return dict(found)


def test_the_scan_sees_every_kind_of_raise() -> None:
    sample = ast.parse(
        """
class E(MimoloError):
    code = "class_code"
def f():
    raise MimoloError("x", code="keyword_code")
def g(flag):
    raise WidgetError("x", code="a_code" if flag else "b_code")
def h():
    return error_response(None, None, "helper_code", "message")
class Bridge:
    async def exchange(self, command, timeout_code):
        raise WidgetError("late", code=timeout_code)
    async def render(self):
        await self.exchange(None, "passed_code")
        await self.exchange(None, timeout_code="named_code")
"""
    )
    assert {code for code, _ in _codes_in(sample)} == {
        "class_code", "keyword_code", "a_code", "b_code", "helper_code", "passed_code",
        "named_code",
    }  # fmt: skip


def test_every_raised_code_is_in_the_table() -> None:
    found = raised_codes()
    assert len(found) > 50  # the scan sees the tree
    missing = {code: where for code, where in found.items() if code not in CODES}
    assert missing == {}


def test_codes_are_slugs_with_a_description_and_an_http_status() -> None:
    for code, entry in CODES.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", code), code
        assert entry.description, code
        assert 400 <= entry.http_status <= 599, code


def test_error_codes_are_the_wire_part_of_the_table() -> None:
    wire = {code: entry.description for code, entry in CODES.items() if entry.ipc}
    assert wire == ERROR_CODES
    for code in ("invalid_field", "config_invalid", "ops_unavailable", "render_timeout"):
        assert code in ERROR_CODES
    for code in ("reporter_timeout", "unknown_job", "already_running"):
        assert code not in ERROR_CODES


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_class_has_a_code_and_an_http_status(cls: type[MimoloError]) -> None:
    assert isinstance(cls.code, str) and cls.code in CODES
    assert isinstance(cls.http_status, int) and 400 <= cls.http_status <= 599
    assert cls.__doc__ or "code" in vars(cls)  # said what it is, or at least named
    if "code" in vars(cls):
        assert CODES[cls.code].http_status == cls.http_status, "class and table disagree"


def test_codes_are_unique_per_class() -> None:
    """A class that names a code is the only one naming it (subclasses that only refine
    the Python type, such as ``NotConnected``, inherit their parent's code)."""
    owners: dict[str, list[str]] = defaultdict(list)
    for cls in CLASSES:
        if "code" in vars(cls):
            owners[cls.code].append(cls.__name__)
    assert {code: names for code, names in owners.items() if len(names) > 1} == {}
    assert len(owners) >= 20


def test_every_exception_class_in_src_lives_in_errors_py() -> None:
    exception_names = {"Exception", "BaseException", *(cls.__name__ for cls in CLASSES)}
    strays = []
    for path in sorted(SRC.rglob("*.py")):
        if path == ERRORS_PY:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {_name(base) for base in node.bases}
                if bases & exception_names or any(
                    b and b.endswith(("Error", "Exception")) for b in bases
                ):
                    strays.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}")
    assert strays == []


def test_a_raise_with_a_table_code_takes_that_codes_status() -> None:
    assert WidgetError("slow", code="render_timeout").http_status == 504
    assert WidgetError("gone").http_status == 502
    assert MimoloError("x", code="unknown_instance").http_status == 404
    # a code from elsewhere (an agent's, a newer server's) keeps the class's status
    assert WidgetError("agent says no", code="agent_private_code").http_status == 502
    assert RemoteError("refused", code="from_a_newer_server").http_status == 400
    assert RemoteError("gone", code="unknown_instance").http_status == 404


def test_the_field_at_fault_is_field_everywhere() -> None:
    config = ConfigError("must be greater than 0", field="settings.queue_max")
    assert config.field == "settings.queue_max"
    assert str(config) == "settings.queue_max: must be greater than 0"
    assert ConfigError("no field").field is None
    assert str(ConfigError("no field")) == "no field"
    invalid = InvalidField("limit", "must be between 1 and 1000")
    assert (invalid.field, invalid.code) == ("limit", "invalid_field")
    assert str(invalid) == "limit: must be between 1 and 1000"
    rejected = LineRejected("missing_field", "Object missing `type`", field="type")
    assert (rejected.field, rejected.reason) == ("type", "missing_field")
    assert rejected.code == "line_rejected"
    remote = RemoteError("params.seed: must be >= 0", code="config_invalid", field="params.seed")
    assert (remote.field, remote.code) == ("params.seed", "config_invalid")
    assert remote.http_status == 400
    assert MimoloError("plain").field is None
