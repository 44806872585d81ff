"""However a stream of requests is cut into writes, every request gets its own answer."""

from __future__ import annotations

import asyncio
import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mimolo.ipc.server.socket_server import IpcServer

from .._support import RawClient, make_registry

TEXTS = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)


async def _exchange(texts: list[str], cuts: list[int]) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="mimolo-prop-") as tmp:
        path = Path(tmp) / "ops.sock"
        async with IpcServer(path, make_registry()):
            client = await RawClient.open(path)
            try:
                stream = b"".join(
                    json.dumps({"cmd": "echo", "text": t, "request_id": i}).encode() + b"\n"
                    for i, t in enumerate(texts)
                )
                points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
                for start, end in itertools.pairwise(points):
                    await client.send(stream[start:end])
                    await asyncio.sleep(0)
                return [await client.recv() for _ in texts]
            finally:
                await client.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXTS, min_size=1, max_size=8), st.lists(st.integers(0, 2000), max_size=12))
def test_any_cutting_of_the_stream_yields_one_answer_per_request(
    texts: list[str], cuts: list[int]
) -> None:
    answers = asyncio.run(_exchange(texts, cuts))
    by_id = {a["request_id"]: a for a in answers}
    assert sorted(by_id) == list(range(len(texts)))
    for i, text in enumerate(texts):
        assert by_id[i]["ok"] is True
        assert by_id[i]["data"] == {"text": text}
