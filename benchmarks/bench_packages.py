"""Agent packages (issue 15): installing a 10 MB package, and what launch-time verification
adds to an agent start.

Install: ``PackageStore.install`` of a signed, allowlisted 10 MB package (the shell example
plus 10 incompressible 1 MB files) in release mode: private copy, entry checks, signature and
allowlist, streaming extraction with every file hashed, rename into place. Each sample
installs into a fresh data root. Launch verification: ``PackageCatalog.launch_refusal`` as
Operations runs it before every spawn, in release mode (manifest read, every file stat-ed
against the hash cache, the folder listed for extra files, signature and allowlist checked
again), for the shell example and for the 10 MB package, warm (the files were verified
before and did not change) and cold (a new cache: every byte hashed).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks._core import BenchContext, Figure, below, log
from mimolo.agents.catalog import builtin_templates
from mimolo.dataroot import DataRoot
from mimolo.operations.package_store import PackageStore
from mimolo.operations.package_templates import FileHashCache, PackageCatalog
from mimolo.operations.trust_store import TrustStore
from mimolo.packages.allowlist import AllowlistEntry, sign_allowlist
from mimolo.packages.build import build_package
from mimolo.packages.signing import (
    generate_key,
    public_pem,
    public_raw,
    read_package,
    sign_package,
)
from mimolo.protocol.templates import AgentTemplate

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "packages" / "sh_heartbeat"
PAYLOAD_FILES = 10
PAYLOAD_BYTES = 1 << 20


def _source(dest: Path, *, big: bool) -> Path:
    src = dest / ("big" if big else "small")
    shutil.copytree(EXAMPLE, src)
    if big:
        data = src / "data"
        data.mkdir()
        for i in range(PAYLOAD_FILES):
            (data / f"blob-{i:02d}.bin").write_bytes(os.urandom(PAYLOAD_BYTES))
    return src


def _trusted_root(path: Path, packages: list[Path], key: Ed25519PrivateKey) -> DataRoot:
    root = DataRoot(path).ensure()
    store = TrustStore(root)
    store.trust_key(public_pem(public_raw(key)))
    entries = []
    for package in packages:
        raw = read_package(package)
        entries.append(
            AllowlistEntry(raw.manifest.plugin_id, raw.manifest.version, raw.package_hash)
        )
    store.set_allowlist(sign_allowlist(1, entries, key))
    return root


def _store(root: DataRoot) -> PackageStore:
    return PackageStore(root, builtins=builtin_templates, developer_mode=lambda: False)


def run(ctx: BenchContext) -> list[Figure]:
    work = ctx.tmp_dir("packages")
    key = generate_key()
    big = build_package(_source(work, big=True), work / "big.zip").path
    sign_package(big, key)
    small_src = _source(work, big=False)
    toml = small_src / "mimolo-package.toml"
    toml.write_text(toml.read_text().replace("sh_heartbeat", "sh_small"))
    small = build_package(small_src, work / "small.zip").path
    sign_package(small, key)
    size_mb = big.stat().st_size / 1e6
    log(f"packages: installing a {size_mb:.1f} MB package")
    counter = iter(range(10**6))

    def install() -> float:
        root = _trusted_root(work / f"root-{next(counter)}", [big], key)
        seconds = ctx.time_call(lambda: _store(root).install(big))
        shutil.rmtree(root.root)
        return seconds

    installed = ctx.median_of(install)
    root = _trusted_root(work / "launch", [big, small], key)
    store = _store(root)
    store.install(big)
    store.install(small)
    catalog = PackageCatalog(root)
    figures = [
        installed.figure(
            f"install a {size_mb:.0f} MB package",
            "s",
            notes=f"{size_mb / installed.median:.0f} MB/s; release mode, signed and allowlisted, "
            "every file hashed while extracted",
        )
    ]
    for plugin_id, what in (("sh_small", "the shell example"), ("sh_heartbeat", "10 MB package")):
        template = catalog.resolve(plugin_id)
        assert template is not None
        assert catalog.launch_refusal(template) is None

        def warm(template: AgentTemplate = template) -> float:
            return ctx.time_call(lambda: catalog.launch_refusal(template)) * 1000

        def cold(template: AgentTemplate = template) -> float:
            catalog.hashes = FileHashCache()
            return ctx.time_call(lambda: catalog.launch_refusal(template)) * 1000

        measured = ctx.median_of(warm, repeats=max(ctx.repeats, 20))
        figures.append(
            measured.figure(
                f"launch verification, {what} (warm)",
                "ms",
                target="< 50 ms",
                verdict=below(measured.median, 50.0),
                notes="added to every start in release mode: stat + hash cache, extra-file "
                "listing, signature and allowlist",
            )
        )
        first = ctx.median_of(cold)
        figures.append(
            first.figure(
                f"launch verification, {what} (cold, every byte hashed)",
                "ms",
                notes="the first start after Operations starts, or after a file changed",
            )
        )
    return figures
