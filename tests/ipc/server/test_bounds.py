"""``get_agent_states`` and ``get_agent_instances`` always fit the response bound.

Whatever an instance holds (600 KiB of metrics, huge texts) and however many there are,
each answer line stays under ``MAX_RESPONSE_BYTES``: items are trimmed with a
``truncated`` marker and the list is paged (``offset``/``limit``, ``next_offset``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from mimolo.dataroot import DataRoot
from mimolo.ipc import OpsClient, request_pages, request_pages_sync
from mimolo.ipc.server.bounds import (
    ITEM_MAX_BYTES,
    METRICS_MARKER,
    METRICS_MAX_BYTES,
    METRICS_MAX_KEYS,
    TEXT_MAX_CHARS,
    PageParams,
    bound_item,
    paged,
    size_of,
    to_record,
)
from mimolo.ipc.types import MAX_RESPONSE_BYTES

from .._support import RawClient
from ._ops_fakes import (
    FakeDiagnostics,
    full_state,
    huge_state,
    serving,
    short_root,
    write_instances,
)

INSTANCES = 250

pytestmark = pytest.mark.anyio


@pytest.fixture
def root() -> Iterator[DataRoot]:
    with short_root() as root:
        yield root


def test_huge_metrics_keep_what_fits_and_say_so() -> None:
    item = bound_item(to_record(huge_state("big")))
    assert item["truncated"] == ["metrics"]
    assert item["metrics"] == {"queue": 3, METRICS_MARKER: True}
    assert size_of(item) <= ITEM_MAX_BYTES
    assert item["instance_id"] == "big" and item["state"] == "running"


def test_small_states_pass_unchanged() -> None:
    record = to_record(huge_state("small", metrics_bytes=10))
    assert bound_item(record) == record


def test_many_metric_keys_are_capped() -> None:
    record = to_record(huge_state("keys", metrics_bytes=1))
    record["metrics"] = {f"k{n}": n for n in range(5000)}
    item = bound_item(record)
    assert len(item["metrics"]) <= METRICS_MAX_KEYS
    assert item["metrics"][METRICS_MARKER] is True
    assert size_of(item["metrics"]) <= METRICS_MAX_BYTES


def test_long_texts_are_cut_and_oversized_fields_dropped() -> None:
    record = to_record(huge_state("noisy", metrics_bytes=1))
    record["last_error"] = "e" * 50_000
    record["health_message"] = "h" * 50_000
    record["drop_counts"] = {f"type-{n}": n for n in range(20_000)}
    item = bound_item(record)
    assert size_of(item) <= ITEM_MAX_BYTES
    assert item["last_error"].startswith("e" * TEXT_MAX_CHARS)
    assert "more characters" in item["last_error"]
    assert "drop_counts" not in item
    assert {"last_error", "health_message", "drop_counts"} <= set(item["truncated"])
    assert item["instance_label"] == "Label noisy"  # identity fields are never dropped


def test_items_within_the_caps_pass_unchanged() -> None:
    record = to_record(full_state("full"))
    assert bound_item(record) == record


def test_pages_cover_every_item_exactly_once() -> None:
    states = [full_state(f"i{n:03d}") for n in range(INSTANCES)]
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        page = paged("agents", states, PageParams(offset=offset))
        assert page["total"] == INSTANCES and page["offset"] == offset
        assert page["agents"], "every page makes progress"
        seen += [a["instance_id"] for a in page["agents"]]
        offset = page["next_offset"]
        pages += 1
    assert seen == [s.instance_id for s in states]
    assert pages > 1


def test_limit_and_an_offset_past_the_end() -> None:
    states = [huge_state(f"i{n}", metrics_bytes=1) for n in range(5)]
    page = paged("agents", states, PageParams(offset=1, limit=2))
    assert [a["instance_id"] for a in page["agents"]] == ["i1", "i2"]
    assert page["next_offset"] == 3
    last = paged("agents", states, PageParams(offset=9))
    assert last["agents"] == [] and last["next_offset"] is None


async def _pages_raw(client: RawClient, cmd: str, key: str, **fields: Any) -> list[bytes]:
    """Follow ``next_offset`` with a raw client; return every answer line as sent."""
    lines: list[bytes] = []
    offset = 0
    request_id = "r" * 60_000  # echoed in every answer: the page leaves room for it
    while True:
        await client.send(
            json.dumps({"cmd": cmd, "request_id": request_id, "offset": offset, **fields}).encode()
            + b"\n"
        )
        line = await asyncio.wait_for(client.reader.readline(), 30)
        lines.append(line)
        answer = json.loads(line)
        assert answer["ok"] is True, answer
        assert isinstance(answer["data"][key], list)
        if answer["data"]["next_offset"] is None:
            return lines
        offset = answer["data"]["next_offset"]


async def test_250_instances_with_600_kib_metrics_fit_every_answer(root: DataRoot) -> None:
    # Half hold 600 KiB of metrics (trimmed), half are as large as allowed (paged).
    states = [(huge_state if n % 2 else full_state)(f"i{n:03d}") for n in range(INSTANCES)]
    async with serving(root, states) as server:
        raw = await RawClient.open(server.socket_path)
        try:
            lines = await _pages_raw(raw, "get_agent_states", "agents")
        finally:
            await raw.close()
        assert len(lines) > 1
        assert all(len(line) <= MAX_RESPONSE_BYTES for line in lines)
        items = [a for line in lines for a in json.loads(line)["data"]["agents"]]
        assert [a["instance_id"] for a in items] == [s.instance_id for s in states]
        assert all("metrics" in a["truncated"] for a in items[1::2])
        assert not any("truncated" in a for a in items[::2])

        async with OpsClient(server.socket_path) as client:
            everything = await request_pages(client.request, "get_agent_states", "agents")
            assert len(everything["agents"]) == INSTANCES
            assert everything["next_offset"] is None
            # start/stop_all_agents answer the states too, within the bound
            started = await client.request("start_all_agents")
            assert started["agents"] and started["total"] == INSTANCES
        synced = await asyncio.to_thread(
            request_pages_sync, server.socket_path, "get_agent_states", "agents"
        )
        assert len(synced["agents"]) == INSTANCES


async def test_instances_are_paged_too(root: DataRoot) -> None:
    write_instances(root, INSTANCES, note_chars=100)
    async with serving(root, []) as server, OpsClient(server.socket_path) as client:
        first = await client.request("get_agent_instances", limit=7)
        assert len(first["instances"]) == 7 and first["next_offset"] == 7
        assert first["total"] == INSTANCES
        everything = await request_pages(client.request, "get_agent_instances", "instances")
        ids = [i["instance_id"] for i in everything["instances"]]
        assert ids == [f"ex-{n:03d}" for n in range(INSTANCES)]


@pytest.mark.parametrize(("fields", "field"), [({"offset": -1}, "offset"), ({"limit": 0}, "limit")])
async def test_bad_page_fields_are_refused_naming_the_field(
    root: DataRoot, fields: dict[str, Any], field: str
) -> None:
    async with serving(root, []) as server:
        raw = await RawClient.open(server.socket_path)
        answer = await raw.ask({"cmd": "get_agent_states", **fields})
        await raw.close()
    assert (answer["ok"], answer["error"], answer["field"]) == (False, "invalid_field", field)


async def test_status_reports_the_drop_total_and_containment(root: DataRoot) -> None:
    total = FakeDiagnostics(dropped_total=8400, dropped=3)
    extra = {"containment": "subreaper", "diagnostics_dropped": 3}
    async with (
        serving(root, [], diagnostics=total, extra=extra) as server,
        OpsClient(server.socket_path) as client,
    ):
        status = await client.request("get_status")
    assert (status["diagnostics_dropped"], status["containment"]) == (8400, "subreaper")

    older = FakeDiagnostics(dropped=5)  # no running total yet: the per-period figure
    async with (
        serving(root, [], diagnostics=older) as server,
        OpsClient(server.socket_path) as client,
    ):
        status = await client.request("get_status")
    assert (status["diagnostics_dropped"], status["containment"]) == (5, "unknown")
