"""Form bodies and the instance-parameter form built from a template's declarations.

Bodies are ``application/x-www-form-urlencoded`` (what ``app.js`` sends) or JSON, capped
in size. A template's ``Param`` declarations drive both the rendered fields and the
validation, so an error's field (``params.<name>``) lands next to the input that caused it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.requests import Request

from mimolo.errors import ConfigError, FormTooLarge
from mimolo.protocol.params import Param, validate_params

MAX_FORM_BYTES = 64 * 1024
PARAM_PREFIX = "params."


async def read_form(request: Request) -> dict[str, str]:
    """The submitted fields (last value wins), from a urlencoded or JSON body."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge(f"the form is larger than {MAX_FORM_BYTES} bytes", field="_form")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            loaded = json.loads(body or b"{}")
        except ValueError:
            raise ConfigError("the body is not valid JSON", field="_form") from None
        if not isinstance(loaded, dict):
            raise ConfigError("the body must be a JSON object", field="_form")
        return {str(k): "" if v is None else str(v) for k, v in loaded.items()}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("the form is not UTF-8", field="_form") from None
    return dict(parse_qsl(text, keep_blank_values=True))


class FieldSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One rendered form field."""

    name: str
    key: str
    label: str
    kind: str
    value: str
    help: str
    required: bool
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    checked: bool = False


def _display(param: Param, value: Any) -> str:
    if value is None:
        return ""
    if param.type in ("str_list", "path_list") and isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def param_fields(declared: Sequence[Param], values: Mapping[str, Any]) -> list[FieldSpec]:
    """Form fields for ``declared``, filled from ``values`` (or the defaults)."""
    out: list[FieldSpec] = []
    for param in declared:
        value = values.get(param.name, param.default)
        kind = {
            "bool": "checkbox",
            "int": "number",
            "float": "number",
            "choice": "select",
            "str_list": "textarea",
            "path_list": "textarea",
        }.get(param.type, "text")
        out.append(
            FieldSpec(
                name=PARAM_PREFIX + param.name,
                key=PARAM_PREFIX + param.name,
                label=param.name.replace("_", " "),
                kind=kind,
                value=_display(param, value),
                help=param.help,
                required=param.required,
                choices=param.choices or (),
                minimum=param.minimum,
                maximum=param.maximum,
                checked=bool(value) if param.type == "bool" else False,
            )
        )
    return out


def params_from_form(declared: Sequence[Param], form: Mapping[str, str]) -> dict[str, Any]:
    """The ``params.*`` fields validated against ``declared`` (``ConfigError`` names the key).

    Unchecked checkboxes are absent from a submitted form, so a declared bool that is
    missing means false.
    """
    raw: dict[str, Any] = {}
    for key, value in form.items():
        if key.startswith(PARAM_PREFIX):
            raw[key[len(PARAM_PREFIX) :]] = value
    for param in declared:
        if param.type == "bool" and param.name not in raw:
            raw[param.name] = False
        elif param.type in ("int", "float") and raw.get(param.name) == "" and not param.required:
            raw.pop(param.name)
    return validate_params(declared, raw)


def decode_params(raw: Any) -> tuple[Param, ...]:
    """Parameter declarations as sent over IPC (``list_agent_templates``)."""
    if not isinstance(raw, list):
        return ()
    return tuple(msgspec.convert(item, Param) for item in raw if isinstance(item, dict))


__all__ = [
    "MAX_FORM_BYTES",
    "PARAM_PREFIX",
    "FieldSpec",
    "decode_params",
    "param_fields",
    "params_from_form",
    "read_form",
]
