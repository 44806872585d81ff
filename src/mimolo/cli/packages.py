"""``mimolo packages``: install, upgrade, remove and inspect agent packages through Operations.

Operations is the only writer of ``packages/``: every verb here is one control-socket
request (``list_installed_packages``, ``inspect_package``, ``install_package``,
``upgrade_package``, ``remove_package``). Paths are made absolute here, because
Operations does not share this shell's working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mimolo.cli.ipc_call import call, data_dir_option, json_option, print_json

console = Console(highlight=False)
_TRUST_STYLE = {"verified": "green", "UNVERIFIED": "yellow", "refused": "red"}
_zip_argument = click.argument(
    "package", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)


def _trust(view: dict[str, Any]) -> str:
    state = str(view.get("trust"))
    style = _TRUST_STYLE.get(state, "")
    text = f"[{style}]{state}[/{style}]" if style else escape(state)
    reason = view.get("trust_reason")
    return f"{text} [dim]({escape(str(reason))})[/dim]" if reason and state != "verified" else text


def _key(view: dict[str, Any]) -> str:
    return str(view.get("publisher") or view.get("claimed_signer") or "-")


@click.group("packages")
def packages() -> None:
    """Agent packages: install, upgrade, remove and inspect them (through Operations)."""


@packages.command("list")
@json_option
@data_dir_option
def list_(as_json: bool, data_dir: Path | None) -> None:
    """Installed packages: version, publisher key, trust state and the instances using each."""
    answer = call(data_dir, "list_installed_packages")
    if as_json:
        print_json(answer)
        return
    if answer.get("developer_mode"):
        console.print("[yellow]DEVELOPER MODE[/yellow]: packages may run UNVERIFIED")
    items = answer.get("packages", [])
    if not items:
        console.print("No packages installed.")
    else:
        table = Table("plugin", "version", "publisher key", "trust", "instances", "hash")
        table.columns[0].no_wrap = True
        for view in items:
            users = ", ".join(
                f"{i['instance_id']} ({i.get('state') or '-'})" for i in view.get("instances", [])
            )
            version = view["version"] + ("" if view.get("current") else " [dim](old)[/dim]")
            table.add_row(
                view["plugin_id"],
                version,
                _key(view),
                _trust(view),
                escape(users) or "-",
                str(view.get("package_hash", ""))[:16],
            )
        console.print(table)
    for broken in answer.get("broken", []):
        console.print(f"[red]unreadable[/red] {escape(broken['path'])}: {escape(broken['reason'])}")


@packages.command("inspect")
@_zip_argument
@json_option
@data_dir_option
def inspect(package: Path, as_json: bool, data_dir: Path | None) -> None:
    """Show a package's manifest, hash, signer, capabilities and what installing would do."""
    answer = call(data_dir, "inspect_package", path=str(package.absolute()))
    if as_json:
        print_json(answer)
        return
    console.print(
        f"[bold]{escape(answer['plugin_id'])}[/bold] {escape(answer['version'])}: "
        f"{escape(answer.get('label', ''))}"
    )
    console.print(f"  hash          {answer['package_hash']}")
    console.print(f"  publisher key {escape(_key(answer))}")
    console.print(f"  trust         {_trust(answer)}")
    console.print(f"  entry         {escape(' '.join(answer.get('entry', [])))}")
    console.print(f"  capabilities  {escape(', '.join(answer.get('capabilities', [])) or '-')}")
    console.print(
        f"  files         {len(answer.get('files', []))} ({answer.get('bytes', 0)} bytes)"
    )
    if answer.get("payload_error"):
        error = answer["payload_error"]
        console.print(f"  [red]payload[/red]       {error['code']}: {escape(error['message'])}")
    if answer.get("action"):
        console.print(f"  installing would: [green]{answer['action']}[/green]")
    elif answer.get("refusal"):
        refusal = answer["refusal"]
        console.print(
            f"  installing would be [red]refused[/red]: {refusal['code']}: "
            f"{escape(refusal['message'])}"
        )


@packages.command("install")
@_zip_argument
@click.option("--force", is_flag=True, help="Reinstall the identical package (same hash).")
@json_option
@data_dir_option
def install(package: Path, force: bool, as_json: bool, data_dir: Path | None) -> None:
    """Install PACKAGE (a .zip): checked, then moved into place in one step."""
    answer = call(data_dir, "install_package", path=str(package.absolute()), force=force)
    if as_json:
        print_json(answer)
        return
    verb = "reinstalled" if answer.get("reinstalled") else "installed"
    console.print(
        f"{verb} [bold]{escape(answer['plugin_id'])}[/bold] {escape(answer['version'])} "
        f"({_trust(answer)}); add an instance with: mimolo instances add "
        f"{escape(answer['plugin_id'])} --label …"
    )


@packages.command("upgrade")
@_zip_argument
@json_option
@data_dir_option
def upgrade(package: Path, as_json: bool, data_dir: Path | None) -> None:
    """Upgrade to PACKAGE (a higher version); running instances restart onto it."""
    answer = call(data_dir, "upgrade_package", path=str(package.absolute()), timeout=300.0)
    if as_json:
        print_json(answer)
        return
    console.print(
        f"upgraded [bold]{escape(answer['plugin_id'])}[/bold] "
        f"{escape(str(answer.get('from_version')))} → {escape(answer['version'])} "
        f"({_trust(answer)})"
    )
    for instance_id, state in sorted(answer.get("states", {}).items()):
        console.print(f"  {escape(instance_id)}: {escape(str(state))}")
    if answer.get("old_version_kept"):
        console.print(f"[yellow]old version kept[/yellow]: {escape(answer['old_version_kept'])}")


@packages.command("remove")
@click.argument("plugin_id")
@click.option("--version", help="Remove only this version (default: every version).")
@click.option(
    "--remove-instances", is_flag=True, help="Also stop and remove the instances using it."
)
@json_option
@data_dir_option
def remove(
    plugin_id: str,
    version: str | None,
    remove_instances: bool,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Remove an installed package (refused while instances use it)."""
    fields: dict[str, Any] = {"plugin_id": plugin_id, "remove_instances": remove_instances}
    if version is not None:
        fields["version"] = version
    answer = call(data_dir, "remove_package", timeout=300.0, **fields)
    if as_json:
        print_json(answer)
        return
    console.print(
        f"removed [bold]{escape(answer['plugin_id'])}[/bold] "
        f"{escape(', '.join(answer['removed_versions']))}"
        + (
            f" and instances {escape(', '.join(answer['removed_instances']))}"
            if answer.get("removed_instances")
            else ""
        )
    )


__all__ = ["packages"]
