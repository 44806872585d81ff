"""The fake OS and fake agents: pipes, signals, exits and every behaviour knob."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from mimolo.operations.launcher import Launcher, OsProcess
from mimolo.protocol.agent_env import HEARTBEAT_INTERVAL_S
from mimolo.protocol.codec import decode_message, encode_command
from mimolo.protocol.commands import (
    STOP_SEQUENCE,
    AckCommand,
    AgentCommand,
    FlushCommand,
    RejectCommand,
    SequenceCommand,
    StatusCommand,
    WidgetRenderCommand,
)
from mimolo.protocol.messages import AgentMessage, SummaryMessage, WidgetFrameMessage
from operations.sim.fake_agent import Behaviour, BehaviourInvalid
from operations.sim.fake_os import STDIN_HIGH_WATER, BytePipe, FakeLauncher, FakeProcess
from operations.sim.vloop import SimulationMisuse, run_simulation

T = TypeVar("T")
ACK = AckCommand(app_version="1.0.0", protocol_version="0.4")


class Reader:
    """Operations' side of one stdout: the chunks as read, and the lines in them."""

    def __init__(self, proc: OsProcess) -> None:
        self.proc = proc
        self.reads: list[bytes] = []
        self._buf = bytearray()

    async def read(self) -> list[AgentMessage]:
        """One read; the complete lines it finished ([] at EOF)."""
        chunk = await self.proc.read_stdout(64 * 1024)
        if chunk:
            self.reads.append(chunk)
        self._buf += chunk
        *lines, rest = bytes(self._buf).split(b"\n")
        self._buf = bytearray(rest)
        return [decode_message(line) for line in lines]

    async def next(self, timeout: float = 60.0) -> AgentMessage:
        async with asyncio.timeout(timeout):
            while True:
                if b"\n" in self._buf:
                    line, _, rest = bytes(self._buf).partition(b"\n")
                    self._buf = bytearray(rest)
                    return decode_message(line)
                chunk = await self.proc.read_stdout(64 * 1024)
                if not chunk:
                    raise EOFError("stdout closed")
                self.reads.append(chunk)
                self._buf += chunk

    async def to_eof(self) -> list[AgentMessage]:
        out: list[AgentMessage] = []
        while True:
            try:
                out.append(await self.next())
            except EOFError:
                return out


def kinds(messages: list[AgentMessage]) -> list[str]:
    return [str(type(m).__struct_config__.tag) for m in messages]


def send(proc: OsProcess, command: AgentCommand) -> None:
    proc.write_stdin(encode_command(command))


def sim(
    body: Callable[[FakeLauncher], Awaitable[T]],
    behaviours: Any = None,
    *,
    seed: int = 7,
) -> T:
    """Run ``body`` with a fresh launcher on a virtual loop."""

    async def main(rng: random.Random) -> T:
        async with FakeLauncher(behaviours, rng=rng) as launcher:
            return await body(launcher)

    return run_simulation(main, seed=seed)


async def spawn(launcher: Launcher, iid: str = "a", **env: str) -> FakeProcess:
    proc = await launcher.spawn(["fake-agent"], env=env, cwd=None, instance_id=iid)
    assert isinstance(proc, FakeProcess)
    return proc


# ---- the protocol -------------------------------------------------------------------


def test_a_good_agent_handshakes_answers_and_stops_in_sequence() -> None:
    async def body(launcher: FakeLauncher) -> None:
        assert launcher.mode == "simulated"
        proc = await spawn(launcher)
        out = Reader(proc)
        assert kinds([await out.next()]) == ["handshake"]
        send(proc, ACK)
        send(proc, FlushCommand())
        assert kinds([await out.next(), await out.next()]) == ["summary", "ack"]
        send(proc, SequenceCommand(sequence=list(STOP_SEQUENCE)))
        rest = await out.to_eof()
        assert kinds(rest) == ["ack", "summary", "ack", "ack"]
        assert [getattr(m, "ack_command", None) for m in rest] == [
            "stop",
            None,
            "flush",
            "shutdown",
        ]
        assert await proc.wait() == 0 and proc.returncode == 0
        assert not proc.alive and not proc.killed and launcher.live() == []
        assert [type(c).__name__ for c in proc.commands] == [
            "AckCommand",
            "FlushCommand",
            "SequenceCommand",
        ]
        assert proc.written == {"handshake": 1, "summary": 2, "ack": 4}
        assert proc.summaries == [1, 2]

    sim(body)


def test_lines_glued_to_the_handshake_arrive_in_the_same_read() -> None:
    async def body(launcher: FakeLauncher) -> None:
        proc = await spawn(launcher)
        out = Reader(proc)
        first = await out.read()
        assert kinds(first) == ["handshake", "log", "summary"]
        assert len(out.reads) == 1

    sim(body, {"a": Behaviour(glued=("log", "summary"), coalesce_reads=False)})


@pytest.mark.parametrize(
    ("handshake", "first"),
    [("first", "handshake"), ("after_heartbeat", "heartbeat"), ("wrong_protocol", "handshake")],
)
def test_handshake_variants(handshake: Any, first: str) -> None:
    async def body(launcher: FakeLauncher) -> tuple[AgentMessage, float]:
        proc = await spawn(launcher)
        msg = await Reader(proc).next()
        return msg, asyncio.get_running_loop().time()

    msg, at = sim(body, {"a": Behaviour(handshake=handshake, handshake_delay_s=2.5)})
    assert kinds([msg]) == [first]
    assert at == pytest.approx(2.5)
    assert msg.protocol_version == ("9.9" if handshake == "wrong_protocol" else "0.4")


def test_an_agent_that_never_handshakes_stays_silent_until_stdin_closes() -> None:
    async def body(launcher: FakeLauncher) -> None:
        proc = await spawn(launcher)
        with pytest.raises(TimeoutError):
            await Reader(proc).next(timeout=600)
        proc.close_stdin()
        assert await proc.wait() == 0
        assert await Reader(proc).to_eof() == []

    sim(body, {"a": Behaviour(handshake="never")})


def test_a_rejected_handshake_ends_the_agent() -> None:
    async def body(launcher: FakeLauncher) -> None:
        proc = await spawn(launcher)
        await Reader(proc).next()
        send(proc, RejectCommand(reason="protocol_version_mismatch"))
        assert await proc.wait() == 0
        assert proc.agent.accepted is False

    sim(body, {"a": Behaviour(handshake="wrong_protocol")})


def test_status_and_widget_render_are_answered() -> None:
    async def body(launcher: FakeLauncher) -> None:
        proc = await spawn(launcher)
        out = Reader(proc)
        await out.next()
        send(proc, StatusCommand())
        send(proc, WidgetRenderCommand(args={"request_id": "r-1"}))
        status, frame = await out.next(), await out.next()
        assert kinds([status]) == ["status"]
        assert isinstance(frame, WidgetFrameMessage) and frame.data.request_id == "r-1"

    sim(body)


def test_a_standalone_flush_can_be_acknowledged_first_as_upstream_does() -> None:
    async def body(launcher: FakeLauncher) -> list[str]:
        proc = await spawn(launcher)
        out = Reader(proc)
        await out.next()
        send(proc, FlushCommand())
        return kinds([await out.next(), await out.next()])

    assert sim(body, {"a": Behaviour(flush_ack_first=True)}) == ["ack", "summary"]


def test_heartbeats_follow_the_interval_from_the_environment() -> None:
    async def body(launcher: FakeLauncher) -> list[float]:
        proc = await spawn(launcher, **{HEARTBEAT_INTERVAL_S: "2.0"})
        out, loop = Reader(proc), asyncio.get_running_loop()
        times: list[float] = []
        await out.next()
        while len(times) < 4:
            msg = await out.next()
            assert kinds([msg]) == ["heartbeat"]
            times.append(loop.time())
        return times

    assert sim(body) == pytest.approx([2.0, 4.0, 6.0, 8.0])


# ---- failure knobs ------------------------------------------------------------------


def test_a_crash_after_n_seconds_exits_with_its_code_at_that_virtual_time() -> None:
    async def body(launcher: FakeLauncher) -> tuple[int, float | None]:
        proc = await spawn(launcher)
        await Reader(proc).to_eof()
        return await proc.wait(), proc.exited_at

    code, at = sim(body, {"a": Behaviour(crash_after_s=4.0, exit_code=5, handshake_delay_s=1)})
    assert code == 5 and at == pytest.approx(5.0)


def test_a_crash_in_the_middle_of_the_stop_sequence() -> None:
    async def body(launcher: FakeLauncher) -> None:
        proc = await spawn(launcher)
        out = Reader(proc)
        await out.next()
        send(proc, SequenceCommand(sequence=list(STOP_SEQUENCE)))
        rest = await out.to_eof()
        assert [getattr(m, "ack_command", None) for m in rest] == ["stop"]
        assert await proc.wait() == 3
        assert proc.written["summary"] == 0

    sim(body, {"a": Behaviour(crash_mid_stop=True)})


def test_sigterm_is_obeyed_after_a_delay_or_ignored_until_sigkill() -> None:
    async def body(launcher: FakeLauncher) -> None:
        obey, ignore = await spawn(launcher, "obey"), await spawn(launcher, "ignore")
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert obey.signal_group(signal.SIGTERM) and ignore.signal_group(signal.SIGTERM)
        assert await obey.wait() == -signal.SIGTERM
        assert loop.time() - start == pytest.approx(1.5)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(3600):
                await ignore.wait()
        assert ignore.signal_group(signal.SIGKILL)
        assert await ignore.wait() == -signal.SIGKILL and ignore.killed and not obey.killed
        assert not ignore.signal_group(signal.SIGTERM)  # nothing left to signal
        assert ignore.signals == [signal.SIGTERM, signal.SIGKILL]

    sim(body, {"obey": Behaviour(sigterm_delay_s=1.5), "ignore": Behaviour(on_sigterm="ignore")})


def test_stdin_eof_ends_an_agent_unless_it_ignores_eof() -> None:
    async def body(launcher: FakeLauncher) -> None:
        polite, stubborn = await spawn(launcher, "polite"), await spawn(launcher, "stubborn")
        for proc in (polite, stubborn):
            await Reader(proc).next()
            proc.close_stdin()
            assert proc.stdin_closed()
        assert await polite.wait() == 0
        await asyncio.sleep(3600)
        assert stubborn.alive and stubborn.agent.stdin_eof
        assert [p.instance_id for p in launcher.live()] == ["stubborn"]
        assert await stubborn.kill_tree() == 1
        assert launcher.live() == []

    sim(body, {"stubborn": Behaviour(exit_on_eof=False)})


def test_a_flood_comes_at_its_rate_and_blocks_on_a_full_pipe() -> None:
    async def body(launcher: FakeLauncher) -> None:
        proc = await spawn(launcher)
        out = Reader(proc)
        await out.next()
        await asyncio.sleep(1.01)
        assert kinds(await out.read()) == ["ack"] * 20
        await asyncio.sleep(3600)  # nobody reads: the pipe fills and the agent blocks
        assert 64 * 1024 <= proc.stdout.buffered < 64 * 1024 + 1024
        assert proc.written["ack"] < 1000

    sim(body, {"a": Behaviour(flood="ack", flood_hz=20, coalesce_reads=True)})


def test_silence_after_the_handshake() -> None:
    async def body(launcher: FakeLauncher) -> None:
        proc = await spawn(launcher, **{HEARTBEAT_INTERVAL_S: "1"})
        out = Reader(proc)
        await out.next()
        send(proc, FlushCommand())
        with pytest.raises(TimeoutError):
            await out.next(timeout=600)
        assert [type(c).__name__ for c in proc.commands] == ["FlushCommand"]

    sim(body, {"a": Behaviour(silent_after_handshake=True)})


def test_slow_stdin_grows_the_buffer_and_drain_waits_for_the_agent() -> None:
    async def body(launcher: FakeLauncher) -> None:
        proc = await spawn(launcher)
        await Reader(proc).next()
        loop = asyncio.get_running_loop()
        line = encode_command(StatusCommand(args={"pad": "x" * 1000}))
        for _ in range(200):
            proc.write_stdin(line)
        assert proc.stdin_buffered() == 200 * len(line)
        start = loop.time()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(10):
                await proc.drain_stdin()
        await proc.drain_stdin()
        waited = loop.time() - start
        expected = (200 * len(line) - STDIN_HIGH_WATER) / 1000
        assert expected - 10 <= waited <= expected + 10
        assert proc.stdin_buffered() <= STDIN_HIGH_WATER

    sim(body, {"a": Behaviour(stdin_bytes_per_s=1000)})


def test_split_lines_arrive_in_pieces_that_reassemble() -> None:
    async def body(launcher: FakeLauncher) -> tuple[list[bytes], list[str]]:
        proc = await spawn(launcher)
        out = Reader(proc)
        await out.next()
        send(proc, SequenceCommand(sequence=list(STOP_SEQUENCE)))
        return out.reads, kinds(await out.to_eof())

    reads, got = sim(body, {"a": Behaviour(split_lines=True, coalesce_reads=False)})
    assert got == ["ack", "summary", "ack", "ack"]
    assert any(not r.endswith(b"\n") for r in reads)  # a read ended inside a line
    assert len(reads) > 5
    again, _ = sim(body, {"a": Behaviour(split_lines=True, coalesce_reads=False)})
    assert again == reads  # the same seed cuts in the same places


def test_escaped_descendants_survive_the_group_and_only_kill_tree_ends_them() -> None:
    async def body(launcher: FakeLauncher) -> None:
        proc = await spawn(launcher)
        await Reader(proc).next()
        assert proc.signal_group(signal.SIGKILL)
        await proc.wait()
        assert proc.alive and launcher.live() == [proc]
        assert not proc.signal_group(signal.SIGKILL)
        assert await proc.kill_tree() == 2
        assert launcher.live() == []
        assert await proc.kill_tree() == 0

    sim(body, {"a": Behaviour(escaped_children=2)})


def test_a_dead_agent_breaks_its_stdin() -> None:
    async def body(launcher: FakeLauncher) -> None:
        proc = await spawn(launcher)
        await Reader(proc).to_eof()
        assert proc.stdin_closed()
        with pytest.raises(BrokenPipeError):
            proc.write_stdin(b"{}\n")
        with pytest.raises(BrokenPipeError):
            await proc.drain_stdin()

    sim(body, {"a": Behaviour(crash_after_s=1)})


# ---- the launcher -------------------------------------------------------------------


def test_behaviour_per_spawn_and_spawn_failures_are_recorded() -> None:
    def behaviour(iid: str, n: int) -> Behaviour:
        return [Behaviour(spawn_error=True), Behaviour(crash_after_s=1), Behaviour()][min(n, 2)]

    async def body(launcher: FakeLauncher) -> None:
        with pytest.raises(FileNotFoundError, match="simulated"):
            await spawn(launcher)
        first = await spawn(launcher)
        assert await first.wait() == 3
        second = await spawn(launcher)
        await asyncio.sleep(100)
        assert second.alive
        assert launcher.failed_spawns == ["a"]
        assert launcher.spawned("a") == [first, second]
        assert second.pid == first.pid + 1
        second.close_stdin()
        await second.wait()

    sim(body, behaviour)


def test_leaving_the_launcher_kills_and_records_what_is_left() -> None:
    seen: list[FakeLauncher] = []

    async def body(launcher: FakeLauncher) -> None:
        seen.append(launcher)
        await spawn(launcher)
        await asyncio.sleep(1)

    sim(body)
    (launcher,) = seen
    assert [p.instance_id for p in launcher.leaked] == ["a"]
    assert launcher.processes[0].killed
    assert not launcher.live()


def test_spawn_outside_the_launcher_context_is_refused() -> None:
    async def main(rng: random.Random) -> None:
        with pytest.raises(SimulationMisuse, match="async with"):
            await spawn(FakeLauncher(rng=rng))

    run_simulation(main, seed=1)


def test_the_same_seed_replays_the_same_transcript() -> None:
    async def body(launcher: FakeLauncher) -> list[bytes]:
        proc = await spawn(launcher, **{HEARTBEAT_INTERVAL_S: "0.7"})
        out = Reader(proc)
        await asyncio.sleep(30)
        send(proc, SequenceCommand(sequence=list(STOP_SEQUENCE)))
        await out.to_eof()
        return out.reads

    b = Behaviour(split_lines=True, flood="log", flood_hz=3, coalesce_reads=False)
    assert sim(body, {"a": b}, seed=3) == sim(body, {"a": b}, seed=3)
    assert sim(body, {"a": b}, seed=3) != sim(body, {"a": b}, seed=4)


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"handshake": "sometimes"}, "handshake must be one of"),
        ({"glued": ("telepathy",)}, "glued must be one of"),
        ({"on_sigterm": "panic"}, "on_sigterm must be one of"),
        ({"handshake_delay_s": -1.0}, "handshake_delay_s must be >= 0"),
        ({"crash_after_s": 0.0}, "crash_after_s must be > 0"),
        ({"flood_hz": 0.0}, "flood_hz must be > 0"),
        ({"escaped_children": -1}, "escaped_children must be >= 0"),
    ],
)
def test_an_impossible_behaviour_is_a_clear_error(knobs: dict[str, Any], message: str) -> None:
    with pytest.raises(BehaviourInvalid, match=message):
        Behaviour(**knobs)


# ---- the pipe -----------------------------------------------------------------------


def test_a_pipe_keeps_or_joins_chunks_and_reports_eof_after_its_bytes() -> None:
    async def main(rng: random.Random) -> None:
        for coalesce, expected in [(False, [b"ab", b"c", b"de"]), (True, [b"abc", b"de"])]:
            pipe = BytePipe(coalesce=coalesce)
            pipe.write_nowait(b"abc")
            pipe.write_nowait(b"de")
            pipe.close()
            got = [await pipe.read(2 if not coalesce else 3) for _ in range(len(expected))]
            assert got == expected
            assert await pipe.read(10) == b""
        pipe = BytePipe()
        pipe.break_reader()
        with pytest.raises(BrokenPipeError):
            await pipe.write(b"x")
        with pytest.raises(ValueError, match="positive"):
            await pipe.read(0)

    run_simulation(main, seed=1)


def test_summaries_are_counted_only_once_their_line_is_complete() -> None:
    async def body(launcher: FakeLauncher) -> FakeProcess:
        proc = await spawn(launcher)
        out = Reader(proc)
        await out.next()
        send(proc, SequenceCommand(sequence=list(STOP_SEQUENCE)))
        messages = await out.to_eof()
        assert sum(isinstance(m, SummaryMessage) for m in messages) == len(proc.summaries)
        return proc

    proc = sim(body, {"a": Behaviour(split_lines=True, glued=("summary",))})
    assert proc.summaries == [1, 2]
