"""Hypothesis strategies for simulation schedules: instances, their behaviours, timed operations.

A ``Schedule`` is plain data: its repr is what hypothesis prints for a failing case, and
``to_json`` / ``Schedule.from_json`` let that case be pasted into a test and replayed with
the same seed.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import msgspec
from hypothesis import strategies as st

from .fake_agent import Behaviour, LineKind

OpKind = Literal[
    "start_agent", "stop_agent", "restart_agent", "flush_agent", "toggle_enabled", "stop_all"
]
OP_KINDS: tuple[OpKind, ...] = (
    "start_agent",
    "stop_agent",
    "restart_agent",
    "flush_agent",
    "toggle_enabled",
    "stop_all",
)
LINE_KINDS: tuple[LineKind, ...] = ("log", "summary", "heartbeat", "status", "ack")

_T = TypeVar("_T")


class Op(msgspec.Struct, frozen=True, omit_defaults=True, repr_omit_defaults=True):
    """One operation at a virtual time; ``toggle_enabled`` is an ``apply_config``."""

    at_s: float
    kind: OpKind
    instance_id: str | None = None  # None only for stop_all


class InstanceSpec(msgspec.Struct, frozen=True, omit_defaults=True, repr_omit_defaults=True):
    """An instance and what its successive processes do (the last one repeats)."""

    instance_id: str
    behaviours: tuple[Behaviour, ...] = (Behaviour(),)
    enabled: bool = True

    def behaviour(self, spawn_index: int) -> Behaviour:
        return self.behaviours[min(spawn_index, len(self.behaviours) - 1)]


class Schedule(msgspec.Struct, frozen=True, omit_defaults=True, repr_omit_defaults=True):
    """Everything one simulation run does; with ``seed`` it replays exactly."""

    seed: int
    instances: tuple[InstanceSpec, ...]
    ops: tuple[Op, ...] = ()

    def behaviour_for(self, instance_id: str, spawn_index: int) -> Behaviour:
        """The ``FakeLauncher`` callback."""
        for spec in self.instances:
            if spec.instance_id == instance_id:
                return spec.behaviour(spawn_index)
        return Behaviour()

    @property
    def horizon_s(self) -> float:
        return max((op.at_s for op in self.ops), default=0.0)

    def to_json(self) -> str:
        return msgspec.json.encode(self).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Schedule:
        return msgspec.json.decode(text, type=cls)  # Behaviour.__post_init__ checks knobs


def _mostly(default: _T, *others: _T) -> st.SearchStrategy[_T]:
    """Half the time the default (which hypothesis also shrinks towards), else another."""
    return st.one_of(st.just(default), st.sampled_from(others))


_KNOBS: dict[str, st.SearchStrategy[Any]] = {
    "handshake": st.sampled_from(("never", "wrong_protocol", "after_heartbeat")),
    "handshake_delay_s": st.sampled_from((0.5, 2.0, 5.0)),
    "glued": st.lists(st.sampled_from(LINE_KINDS), min_size=1, max_size=3).map(tuple),
    "crash_after_s": st.sampled_from((0.5, 3.0, 20.0)),
    "crash_mid_stop": st.just(True),
    "exit_code": st.sampled_from((0, 1)),
    "on_sigterm": st.just("ignore"),
    "sigterm_delay_s": st.sampled_from((0.5, 10.0)),
    "exit_on_eof": st.just(False),
    "flood": st.sampled_from(LINE_KINDS),
    "flood_hz": st.sampled_from((2.0, 20.0, 100.0)),
    "silent_after_handshake": st.just(True),
    "stdin_bytes_per_s": st.sampled_from((20.0, 1000.0)),
    "split_lines": st.just(True),
    "coalesce_reads": st.just(False),
    "flush_ack_first": st.just(True),
    "escaped_children": st.just(1),
    "spawn_error": st.just(True),
}
KNOBS: tuple[str, ...] = tuple(_KNOBS)


@st.composite
def behaviours(draw: st.DrawFn, *, max_knobs: int = 3) -> Behaviour:
    """One agent process: well-behaved but for up to ``max_knobs`` misbehaviours.

    Few knobs at a time keep a failing case readable and let hypothesis shrink it to the
    one misbehaviour that matters; the empty set (a good agent) is where it shrinks to.
    """
    names = draw(st.lists(st.sampled_from(KNOBS), max_size=max_knobs, unique=True))
    return Behaviour(**{name: draw(_KNOBS[name]) for name in sorted(names)})


def ops(instance_ids: list[str], *, horizon_s: float) -> st.SearchStrategy[Op]:
    """One operation on one of ``instance_ids`` (or ``stop_all``) within the horizon."""
    at = st.integers(0, int(horizon_s * 10)).map(lambda t: t / 10)  # 0.1 s grid: readable

    @st.composite
    def one(draw: st.DrawFn) -> Op:
        kind = draw(st.sampled_from(OP_KINDS))
        iid = None if kind == "stop_all" else draw(st.sampled_from(instance_ids))
        return Op(at_s=draw(at), kind=kind, instance_id=iid)

    return one()


@st.composite
def schedules(
    draw: st.DrawFn,
    *,
    max_instances: int = 3,
    max_ops: int = 8,
    horizon_s: float = 60.0,
    max_spawns: int = 3,
) -> Schedule:
    """Instances (ids ``a``, ``b``, ...) with per-spawn behaviours, and sorted timed ops."""
    count = draw(st.integers(1, max_instances))
    ids = [chr(ord("a") + i) for i in range(count)]
    specs = tuple(
        InstanceSpec(
            instance_id=iid,
            behaviours=tuple(draw(st.lists(behaviours(), min_size=1, max_size=max_spawns))),
            enabled=draw(_mostly(True, False)),
        )
        for iid in ids
    )
    timed = draw(st.lists(ops(ids, horizon_s=horizon_s), max_size=max_ops))
    return Schedule(
        seed=draw(st.integers(0, 2**32 - 1)),
        instances=specs,
        ops=tuple(sorted(timed, key=lambda op: op.at_s)),
    )


__all__ = [
    "KNOBS",
    "OP_KINDS",
    "InstanceSpec",
    "Op",
    "OpKind",
    "Schedule",
    "behaviours",
    "ops",
    "schedules",
]
