"""An agent's own command line, driven by its ``Param`` declarations.

Operations starts agents without arguments (parameters arrive in ``MIMOLO_AGENT_CONFIG``).
A person running an agent by hand can list its parameters with ``--help`` and set them
with ``--param NAME=VALUE`` (repeatable; lists as ``a,b``), which override the
environment's values before the same validation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from mimolo.errors import ConfigError
from mimolo.protocol.params import Param, validate_params
from mimolo.sdk.params import ENV_AGENT_CONFIG


def _param_lines(params: Sequence[Param]) -> str:
    """The epilog: one line per declared parameter."""
    if not params:
        return "This agent declares no parameters."
    rows = ["parameters (--param NAME=VALUE):"]
    for p in params:
        kind = f"one of {', '.join(p.choices)}" if p.choices else p.type
        need = "required" if p.required else f"default {json.dumps(p.default)}"
        rows.append(f"  {p.name} ({kind}; {need}): {p.help}")
    return "\n".join(rows)


def parse_agent_argv(
    prog: str, description: str, params: Sequence[Param], argv: Sequence[str]
) -> dict[str, str]:
    """``--param`` overrides from ``argv``; ``--help`` prints and exits 0, errors exit 2."""
    import argparse  # only when run by hand: keeps an agent's idle footprint small

    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=_param_lines(params),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a parameter (overrides MIMOLO_AGENT_CONFIG)",
    )
    namespace = parser.parse_args(list(argv))
    overrides: dict[str, str] = {}
    for item in namespace.param:
        name, sep, value = str(item).partition("=")
        if not sep or not name:
            parser.error(f"--param needs NAME=VALUE, got {item!r}")
        overrides[name.strip()] = value
    return overrides


def resolve_config(params: Sequence[Param], overrides: dict[str, str]) -> dict[str, Any]:
    """``MIMOLO_AGENT_CONFIG`` with ``overrides`` on top, validated (defaults filled in)."""
    raw = os.environ.get(ENV_AGENT_CONFIG, "").strip()
    try:
        values: object = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(f"is not JSON: {exc}", field=ENV_AGENT_CONFIG) from None
    if not isinstance(values, dict):
        raise ConfigError("must hold a JSON object", field=ENV_AGENT_CONFIG)
    return validate_params(params, {**values, **overrides})


__all__ = ["parse_agent_argv", "resolve_config"]
