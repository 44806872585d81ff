"""Containment with real processes: no descendant of an agent outlives its stop or Operations.

The forker agent leaves a plain child, a ``setsid()`` grandchild and a double-fork daemon;
every mode available here must end all of them, on stop, on the next start after a
SIGKILLed predecessor, and through the guardian when Operations itself is SIGKILLed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psutil
import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import ContainmentError
from mimolo.operations.containment import (
    ENV_GUARDIAN,
    MODES,
    Containment,
    root_hash,
)
from mimolo.operations.containment_cgroup import CgroupTree
from mimolo.operations.containment_record import identity
from mimolo.operations.launcher import OsProcess
from mimolo.operations.subprocess_launcher import SubprocessLauncher

pytestmark = pytest.mark.anyio

FORKER = Path(__file__).parent / "agents" / "forker.py"
ROLES = ("agent", "child", "grandchild", "daemon")
DEADLINE_S = 20.0
LINUX = sys.platform.startswith("linux")
ROOT = LINUX and os.geteuid() == 0

# A stand-in for ``mimolo ops``: contain, optionally guard, spawn one forker, then wait to
# be SIGKILLed. argv: data_root mode pidfile guard|noguard
MINI_OPS = """
import asyncio, os, sys
from mimolo.dataroot import DataRoot
from mimolo.operations.containment import Containment
from mimolo.operations.subprocess_launcher import SubprocessLauncher

async def main() -> None:
    root = DataRoot.resolve(sys.argv[1]).ensure()
    containment = Containment.create(root, mode=sys.argv[2])
    containment.reap_leftovers()
    if sys.argv[4] == "guard":
        containment.start_guardian()
    env = dict(os.environ, MIMOLO_INSTANCE_ID="forker-1", MIMOLO_DATA_DIR=str(root.root))
    argv = [sys.executable, sys.argv[5], sys.argv[3], "--ignore-term"]
    proc = await SubprocessLauncher(containment).spawn(
        argv, env=env, cwd=None, instance_id="forker-1"
    )
    print(proc.pid, containment.guardian_pid or 0, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def _cgroup_v2_here() -> bool:
    """As root on Linux it must work (a failure is loud); otherwise only if delegated."""
    if ROOT:
        return True
    tree = CgroupTree.for_us("mimolo-test-probe")
    if isinstance(tree, str):
        return False
    problem = tree.prepare()
    tree.remove(tree.base)
    return problem is None


AVAILABLE = {"process_group": True, "subreaper": LINUX, "cgroup_v2": _cgroup_v2_here()}


def expected_available(mode: str) -> bool:
    """What this machine must offer; CI (Linux, root) offers every mode."""
    return AVAILABLE[mode]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def cgroup_base(data_root: DataRoot) -> Path | None:
    tree = CgroupTree.for_us(f"mimolo-{root_hash(data_root)}")
    return tree.base if isinstance(tree, CgroupTree) else None


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MIMOLO_")}


async def wait_until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def read_pids(pidfile: Path) -> dict[str, int]:
    try:
        lines = pidfile.read_text(encoding="ascii").splitlines()
    except FileNotFoundError:
        return {}
    return {role: int(pid) for role, pid in (line.split() for line in lines)}


async def wait_pids(pidfile: Path) -> dict[str, int]:
    await wait_until(lambda: set(read_pids(pidfile)) == set(ROLES), f"all roles in {pidfile}")
    return read_pids(pidfile)


class Reaper:
    """Every process a test starts; the finalizer SIGKILLs whatever is left (identity-safe)."""

    def __init__(self) -> None:
        self.procs: list[psutil.Process] = []

    def add(self, *pids: int) -> None:
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.procs.append(psutil.Process(pid))

    def kill_all(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                if proc.is_running():
                    proc.kill()
        for proc in self.procs:
            with contextlib.suppress(psutil.Error, ChildProcessError):
                if proc.ppid() == os.getpid() and proc.status() == psutil.STATUS_ZOMBIE:
                    os.waitpid(proc.pid, os.WNOHANG)


@pytest.fixture
def reaper() -> Iterator[Reaper]:
    made = Reaper()
    yield made
    made.kill_all()


@pytest.fixture
def contain(data_root: DataRoot) -> Iterator[Callable[[str], Containment]]:
    """Containment.create for the test's data root; closed (cgroups removed) at the end."""
    made: list[Containment] = []

    def create(mode: str) -> Containment:
        containment = Containment.create(data_root, mode=mode)
        made.append(containment)
        return containment

    yield create
    for containment in reversed(made):
        containment.close()


@contextlib.asynccontextmanager
async def forker(
    containment: Containment,
    data_root: DataRoot,
    reaper: Reaper,
    pidfile: Path,
    instance_id: str = "forker-1",
    *flags: str,
) -> AsyncIterator[tuple[OsProcess, dict[str, int]]]:
    """A forker agent started the way Operations starts agents, and its descendants' pids."""
    env = dict(clean_env(), MIMOLO_INSTANCE_ID=instance_id, MIMOLO_DATA_DIR=str(data_root.root))
    argv = [sys.executable, str(FORKER), str(pidfile), "--ignore-term", *flags]
    proc = await SubprocessLauncher(containment).spawn(
        argv, env=env, cwd=None, instance_id=instance_id
    )
    reaper.add(proc.pid)
    try:
        pids = await wait_pids(pidfile)
        reaper.add(*pids.values())
        yield proc, pids
    finally:
        reaper.kill_all()
        await asyncio.wait_for(proc.wait(), DEADLINE_S)


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_expected_here_is_available(mode: str, data_root: DataRoot) -> None:
    if not expected_available(mode):
        with pytest.raises(ContainmentError) as caught:
            Containment.create(data_root, mode=mode)
        assert caught.value.code == "containment_unavailable"
        return
    containment = Containment.create(data_root, mode=mode)
    try:
        assert containment.mode == mode
        assert containment.detail
    finally:
        containment.close()


def test_default_is_the_best_mode_here(data_root: DataRoot) -> None:
    containment = Containment.create(data_root)
    try:
        best = next(mode for mode in MODES if expected_available(mode))
        assert containment.mode == best
    finally:
        containment.close()


def test_unknown_mode_is_a_clear_error(data_root: DataRoot) -> None:
    with pytest.raises(ContainmentError, match="unknown containment mode 'jail'") as caught:
        Containment.create(data_root, mode="jail")
    assert caught.value.code == "containment_invalid_mode"


@pytest.mark.parametrize("mode", [m for m in MODES if expected_available(m)])
async def test_kill_tree_ends_every_descendant(
    mode: str,
    contain: Callable[[str], Containment],
    data_root: DataRoot,
    reaper: Reaper,
    tmp_path: Path,
) -> None:
    containment = contain(mode)
    async with forker(containment, data_root, reaper, tmp_path / "pids") as (proc, pids):
        assert all(alive(pid) for pid in pids.values())
        assert await proc.kill_tree() == len(ROLES)
        await asyncio.wait_for(proc.wait(), DEADLINE_S)
        survivors = [role for role, pid in pids.items() if alive(pid)]
        assert survivors == []
        assert await proc.kill_tree() == 0  # idempotent
        assert not (data_root.operations_dir / "containment.json").exists()


@pytest.mark.parametrize("mode", [m for m in MODES if expected_available(m)])
async def test_kill_tree_spares_other_instances(
    mode: str,
    contain: Callable[[str], Containment],
    data_root: DataRoot,
    reaper: Reaper,
    tmp_path: Path,
) -> None:
    containment = contain(mode)
    async with (
        forker(containment, data_root, reaper, tmp_path / "a", "inst-a") as (proc_a, pids_a),
        forker(containment, data_root, reaper, tmp_path / "b", "inst-b") as (proc_b, pids_b),
    ):
        assert await proc_a.kill_tree() == len(ROLES)
        assert not any(alive(pid) for pid in pids_a.values())
        assert all(alive(pid) for pid in pids_b.values())
        assert await proc_b.kill_tree() == len(ROLES)
        assert not any(alive(pid) for pid in pids_b.values())


async def test_cgroup_holds_even_a_daemon_that_scrubs_its_environment(
    contain: Callable[[str], Containment],
    data_root: DataRoot,
    reaper: Reaper,
    tmp_path: Path,
) -> None:
    if not expected_available("cgroup_v2"):
        with pytest.raises(ContainmentError):
            contain("cgroup_v2")
        return
    containment = contain("cgroup_v2")
    pidfile = tmp_path / "pids"
    async with forker(containment, data_root, reaper, pidfile, "forker-1", "--scrub-daemon") as (
        proc,
        pids,
    ):
        daemon_env = psutil.Process(pids["daemon"]).environ()
        assert "MIMOLO_INSTANCE_ID" not in daemon_env
        own_cgroup = Path(f"/proc/{pids['daemon']}/cgroup").read_text().strip()
        assert own_cgroup.endswith("/forker-1")
        assert containment.detail.endswith(own_cgroup.split("::")[1].rsplit("/", 1)[0])
        assert await proc.kill_tree() == len(ROLES)
        assert not any(alive(pid) for pid in pids.values())


async def test_record_is_private_and_names_instance_pid_and_start(
    contain: Callable[[str], Containment],
    data_root: DataRoot,
    reaper: Reaper,
    tmp_path: Path,
) -> None:
    containment = contain("process_group")
    record = data_root.operations_dir / "containment.json"
    async with forker(containment, data_root, reaper, tmp_path / "pids") as (proc, _pids):
        assert stat.S_IMODE(record.stat().st_mode) == 0o600
        doc = json.loads(record.read_text())
        assert list(doc) == ["forker-1"]
        [entry] = doc["forker-1"]
        assert entry["pid"] == proc.pid
        assert entry["create_time"] == pytest.approx(psutil.Process(proc.pid).create_time())
        assert containment.refresh_all([("forker-1", proc.pid)]) >= 1  # its children
        assert containment.refresh_all([("forker-1", proc.pid)]) == 0  # nothing new
        await proc.kill_tree()
    containment.close()
    assert not record.exists()


def test_recycled_pid_is_never_killed(
    contain: Callable[[str], Containment], data_root: DataRoot, reaper: Reaper
) -> None:
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(3600)"],
        env=clean_env(),
        start_new_session=True,
    )
    reaper.add(bystander.pid)
    try:
        real = identity(bystander.pid)
        assert real is not None
        forged = real.to_json() | {"create_time": real.create_time - 1000.0}
        if "start_ticks" in forged:
            forged["start_ticks"] = int(str(forged["start_ticks"])) - 5
        record = data_root.operations_dir / "containment.json"
        record.write_text(json.dumps({"ghost": [forged]}))
        containment = contain("process_group")
        assert asyncio.run(containment.kill_tree("ghost", bystander.pid)) == 0
        assert alive(bystander.pid)

        record.write_text(json.dumps({"ghost": [forged]}))
        assert contain("process_group").reap_leftovers() == []
        assert alive(bystander.pid)
        assert not record.exists()

        record.write_text(json.dumps({"ghost": [real.to_json()]}))  # the real identity
        assert contain("process_group").reap_leftovers() == [bystander.pid]
        bystander.wait(DEADLINE_S)  # its status may have been reaped by the sweep
        assert not alive(bystander.pid)
    finally:
        bystander.kill()
        bystander.wait()


def test_corrupt_record_is_ignored(
    contain: Callable[[str], Containment], data_root: DataRoot
) -> None:
    (data_root.operations_dir / "containment.json").write_text("{not json")
    assert contain("process_group").reap_leftovers() == []


def start_mini_ops(
    data_root: DataRoot, mode: str, pidfile: Path, guard: bool
) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", MINI_OPS, str(data_root.root), mode, str(pidfile)]
    argv += ["guard" if guard else "noguard", str(FORKER)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=clean_env())


@contextlib.contextmanager
def mini_ops(
    data_root: DataRoot, mode: str, pidfile: Path, reaper: Reaper, *, guard: bool
) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    """A separate Operations that has spawned a forker; (process, agent pid, guardian pid)."""
    ops = start_mini_ops(data_root, mode, pidfile, guard)
    reaper.add(ops.pid)
    try:
        assert ops.stdout is not None
        agent_pid, guardian_pid = (int(word) for word in ops.stdout.readline().split())
        reaper.add(agent_pid, guardian_pid)
        yield ops, agent_pid, guardian_pid
    finally:
        ops.kill()
        ops.wait()
        if ops.stdout is not None:
            ops.stdout.close()


@pytest.mark.parametrize("mode", [m for m in MODES if expected_available(m)])
async def test_reap_leftovers_ends_what_a_killed_predecessor_left(
    mode: str,
    contain: Callable[[str], Containment],
    data_root: DataRoot,
    reaper: Reaper,
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "pids"
    with mini_ops(data_root, mode, pidfile, reaper, guard=False) as (ops, agent_pid, _):
        pids = await wait_pids(pidfile)
        reaper.add(*pids.values())
        assert pids["agent"] == agent_pid
        ops.kill()
        ops.wait()
    await wait_until(lambda: not alive(agent_pid), "the agent's parent-death signal")
    leftovers = {role: pid for role, pid in pids.items() if alive(pid)}
    assert set(leftovers) == {"child", "grandchild", "daemon"}  # what issue 13 saw leak

    ended = contain(mode).reap_leftovers()
    assert set(leftovers.values()) <= set(ended)
    await wait_until(lambda: not any(alive(pid) for pid in pids.values()), "every leftover")
    assert not (data_root.operations_dir / "containment.json").exists()
    base = cgroup_base(data_root)
    assert base is None or not base.exists()


REAP_FROM_AGENT_ENV = """
import json, sys
from mimolo.dataroot import DataRoot
from mimolo.operations.containment import Containment
containment = Containment.create(DataRoot.resolve(sys.argv[1]), mode="process_group")
print(json.dumps(containment.reap_leftovers()))
"""


def test_reap_leftovers_spares_itself_and_its_ancestors(data_root: DataRoot) -> None:
    # Both the parent and the reaping process look like agents of this root.
    parent = (
        "import subprocess, sys; "
        "sys.exit(subprocess.run([sys.executable, '-c', sys.argv[1], sys.argv[2]]).returncode)"
    )
    env = dict(clean_env(), MIMOLO_INSTANCE_ID="forker-1", MIMOLO_DATA_DIR=str(data_root.root))
    done = subprocess.run(
        [sys.executable, "-c", parent, REAP_FROM_AGENT_ENV, str(data_root.root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize("mode", [m for m in MODES if expected_available(m)])
async def test_guardian_ends_every_descendant_when_operations_is_sigkilled(
    mode: str, data_root: DataRoot, reaper: Reaper, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    with mini_ops(data_root, mode, pidfile, reaper, guard=True) as (ops, _agent, guardian):
        pids = await wait_pids(pidfile)
        reaper.add(*pids.values())
        assert guardian > 0 and alive(guardian)
        guardian_env = psutil.Process(guardian).environ()
        assert "MIMOLO_INSTANCE_ID" not in guardian_env
        assert guardian_env[ENV_GUARDIAN] == str(data_root.root)
        ops.send_signal(signal.SIGKILL)
        ops.wait()
    everyone = [*pids.values(), guardian]
    await wait_until(lambda: not any(alive(pid) for pid in everyone), "the guardian's sweep")
    assert not (data_root.operations_dir / "containment.json").exists()
    base = cgroup_base(data_root)
    assert base is None or not base.exists()
    log = (data_root.logs_dir / "guardian.log").read_text()
    assert f"Operations {ops.pid} is gone" in log


async def test_stop_guardian_dismisses_it_without_a_sweep(
    contain: Callable[[str], Containment],
    data_root: DataRoot,
    reaper: Reaper,
    tmp_path: Path,
) -> None:
    containment = contain("process_group")
    containment.start_guardian()
    guardian = containment.guardian_pid
    assert guardian is not None
    reaper.add(guardian)
    async with forker(containment, data_root, reaper, tmp_path / "pids") as (proc, pids):
        containment.stop_guardian()
        assert containment.guardian_pid is None
        assert not psutil.pid_exists(guardian)
        assert all(alive(pid) for pid in pids.values())
        assert await proc.kill_tree() == len(ROLES)


async def test_subreaper_waits_for_adopted_orphans_that_die(
    contain: Callable[[str], Containment], data_root: DataRoot, reaper: Reaper, tmp_path: Path
) -> None:
    if not expected_available("subreaper"):
        with pytest.raises(ContainmentError):
            contain("subreaper")
        return
    containment = contain("subreaper")
    pidfile = tmp_path / "pids"
    async with forker(containment, data_root, reaper, pidfile, "forker-1", "--daemon-exits") as (
        proc,
        pids,
    ):
        daemon = psutil.Process(pids["daemon"])

        def adopted_zombie() -> bool:
            with contextlib.suppress(psutil.NoSuchProcess):
                return daemon.ppid() == os.getpid() and daemon.status() == psutil.STATUS_ZOMBIE
            return False

        await wait_until(adopted_zombie, "the daemon to die as our adopted child")
        assert containment.reap_orphans() == 1
        assert not psutil.pid_exists(daemon.pid)
        assert containment.reap_orphans() == 0
        assert proc.returncode is None  # the agent's status is asyncio's, untouched
        assert await proc.kill_tree() == len(ROLES) - 1
    assert proc.returncode == -signal.SIGKILL
