"""Agent parameter declarations: declared once, they drive the agent's CLI, Operations'
config validation and Control's form. Pure: declarations and validation only.

An instance's validated parameters reach the agent as JSON in ``MIMOLO_AGENT_CONFIG``
(``mimolo.sdk.params.load_agent_params`` reads them inside the agent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec

from mimolo.errors import ConfigError

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})

ParamType = Literal["str", "int", "float", "bool", "choice", "path", "str_list", "path_list"]


class Param(msgspec.Struct, frozen=True, kw_only=True):
    """One declared parameter of an agent template."""

    name: str
    type: ParamType
    default: Any = None
    help: str = ""
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    max_items: int | None = None
    max_length: int = 4096


def _check_number(param: Param, value: float, key: str) -> None:
    if param.minimum is not None and value < param.minimum:
        raise ConfigError(f"must be >= {param.minimum:g}, got {value!r}", field=key)
    if param.maximum is not None and value > param.maximum:
        raise ConfigError(f"must be <= {param.maximum:g}, got {value!r}", field=key)


def _check_str(param: Param, value: object, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"must be a string, got {type(value).__name__}", field=key)
    if len(value) > param.max_length:
        raise ConfigError(f"must be at most {param.max_length} characters", field=key)
    if "\x00" in value:
        raise ConfigError("must not contain NUL", field=key)
    return value


def coerce_value(param: Param, value: object, key: str | None = None) -> Any:
    """Validate one value against its declaration; return it in canonical form.

    Strings from a CLI or HTML form are accepted for numbers, booleans and lists
    (comma- or newline-separated).
    """
    key = key or param.name
    kind = param.type
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise ConfigError(f"must be true or false, got {value!r}", field=key)
    if kind in ("int", "float"):
        number: float
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"must be a number, got {value!r}", field=key)
        try:
            number = int(value) if kind == "int" else float(value)
        except (TypeError, ValueError):
            what = "an integer" if kind == "int" else "a number"
            raise ConfigError(f"must be {what}, got {value!r}", field=key) from None
        if kind == "int" and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"must be an integer, got {value!r}", field=key)
        if number != number or number in (float("inf"), float("-inf")):
            raise ConfigError("must be a finite number", field=key)
        _check_number(param, number, key)
        return number
    if kind == "choice":
        text = _check_str(param, value, key)
        if param.choices is None or text not in param.choices:
            allowed = ", ".join(param.choices or ())
            raise ConfigError(f"must be one of {allowed}, got {text!r}", field=key)
        return text
    if kind in ("str", "path"):
        text = _check_str(param, value, key)
        if param.required and not text.strip():
            raise ConfigError("is required", field=key)
        return text
    # list types
    items: list[object]
    if isinstance(value, str):
        items = [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ConfigError(f"must be a list of strings, got {type(value).__name__}", field=key)
    if param.max_items is not None and len(items) > param.max_items:
        raise ConfigError(f"must have at most {param.max_items} items", field=key)
    out = [_check_str(param, item, f"{key}[{i}]") for i, item in enumerate(items)]
    if param.required and not out:
        raise ConfigError("needs at least one item", field=key)
    return out


def validate_params(
    declared: Sequence[Param], values: Mapping[str, Any], *, prefix: str = "params"
) -> dict[str, Any]:
    """Validate ``values`` against ``declared``: unknown keys refused, defaults filled in.

    Errors name the key as ``<prefix>.<name>``.
    """
    by_name = {p.name: p for p in declared}
    for name in values:
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise ConfigError(f"unknown parameter (known: {known})", field=f"{prefix}.{name}")
    out: dict[str, Any] = {}
    for param in declared:
        key = f"{prefix}.{param.name}"
        if param.name in values:
            out[param.name] = coerce_value(param, values[param.name], key)
        elif param.required:
            raise ConfigError("is required", field=key)
        else:
            out[param.name] = param.default
    return out


__all__ = ["Param", "ParamType", "coerce_value", "validate_params"]
