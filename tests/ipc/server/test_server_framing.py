"""The control socket's framing and envelope: every bad input answered, none fatal."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from mimolo import APP_VERSION
from mimolo.ipc.server.socket_server import IpcServer
from mimolo.ipc.types import API_VERSION, MAX_REQUEST_BYTES

from .._support import RawClient, make_registry

pytestmark = pytest.mark.anyio


async def test_ping_envelope_echoes_cmd_and_request_id(raw: RawClient) -> None:
    answer = await raw.ask({"cmd": "ping", "request_id": "r-1"})
    assert answer["ok"] is True
    assert answer["cmd"] == "ping"
    assert answer["request_id"] == "r-1"
    assert answer["data"] == {"pong": True}
    assert answer["timestamp"].endswith("Z")
    assert "error" not in answer


async def test_integer_request_id_and_absent_request_id(raw: RawClient) -> None:
    assert (await raw.ask({"cmd": "ping", "request_id": 7}))["request_id"] == 7
    assert (await raw.ask({"cmd": "ping"}))["request_id"] is None


async def test_hello_answers_versions(raw: RawClient) -> None:
    answer = await raw.ask({"cmd": "hello", "api_version": 1, "request_id": "h"})
    assert answer["ok"] is True
    assert answer["data"]["api_version"] == API_VERSION
    assert answer["data"]["app_version"] == APP_VERSION
    assert answer["data"]["server"] == "mimolo-operations"
    assert "ping" in answer["data"]["commands"]


async def test_hello_with_unknown_api_version_is_refused(raw: RawClient) -> None:
    answer = await raw.ask({"cmd": "hello", "api_version": 99})
    assert answer["ok"] is False
    assert answer["error"] == "unsupported_api_version"
    assert (await raw.ask({"cmd": "ping"}))["ok"] is True


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"{not json\n", "invalid_json"),
        (b"[1, 2]\n", "invalid_json"),
        (b'"ping"\n', "invalid_json"),
        (b"\xff\xfe{}\n", "invalid_json"),
        (b'{"request_id": "x"}\n', "invalid_request"),
        (b'{"cmd": 5}\n', "invalid_request"),
        (b'{"cmd": ""}\n', "invalid_request"),
        (b'{"cmd": "ping", "request_id": [1]}\n', "invalid_request"),
        (b'{"cmd": "ping", "request_id": true}\n', "invalid_request"),
        (b'{"cmd": "no_such_command"}\n', "unknown_command"),
        (b"[" * 30000 + b"]" * 30000 + b"\n", "invalid_json"),  # nesting bomb
        (b'{"cmd": "ping", "x": 1e99999}\n', "invalid_json"),  # number out of range
        (b'{"cmd": "echo", "text": "\\ud800"}\n', "invalid_json"),  # lone surrogate
    ],
)
async def test_bad_lines_get_an_error_and_the_connection_lives(
    raw: RawClient, line: bytes, code: str
) -> None:
    await raw.send(line)
    answer = await raw.recv()
    assert answer["ok"] is False
    assert answer["error"] == code
    assert answer["message"]
    assert (await raw.ask({"cmd": "ping", "request_id": "after"}))["ok"] is True


async def test_unknown_command_echoes_its_name(raw: RawClient) -> None:
    answer = await raw.ask({"cmd": "frobnicate", "request_id": "q"})
    assert (answer["cmd"], answer["request_id"], answer["error"]) == (
        "frobnicate",
        "q",
        "unknown_command",
    )
    assert "frobnicate" in answer["message"]


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({}, "text"),  # missing
        ({"text": 5}, "text"),  # wrong type
        ({"text": "a", "times": "2"}, "times"),  # no string-to-int coercion
        ({"text": "a", "colour": "red"}, "colour"),  # unknown
    ],
)
async def test_invalid_fields_are_named(
    raw: RawClient, request_fields: dict[str, object], field: str
) -> None:
    answer = await raw.ask({"cmd": "echo", "request_id": "e", **request_fields})
    assert answer["ok"] is False
    assert answer["error"] == "invalid_field"
    assert answer["field"] == field
    assert answer["request_id"] == "e"
    assert (await raw.ask({"cmd": "echo", "text": "ok", "times": 2}))["data"] == {"text": "okok"}


async def test_failing_handler_answers_internal_error_and_connection_lives(
    raw: RawClient, caplog: pytest.LogCaptureFixture
) -> None:
    answer = await raw.ask({"cmd": "boom", "request_id": "b"})
    assert answer["ok"] is False
    assert answer["error"] == "internal_error"
    assert "handler bug" not in answer["message"]  # details go to the log, not the client
    assert any("boom" in r.getMessage() for r in caplog.records)
    assert (await raw.ask({"cmd": "ping"}))["ok"] is True


async def test_mimolo_error_code_is_the_answer_code(raw: RawClient) -> None:
    answer = await raw.ask({"cmd": "refuse"})
    assert (answer["error"], answer["message"]) == ("not_running", "nope")


async def test_utf8_split_across_reads_is_decoded(raw: RawClient) -> None:
    line = '{"cmd": "echo", "text": "héllo ✓ 🎉"}\n'.encode()
    cut = line.index("🎉".encode()) + 2  # in the middle of the 4-byte sequence
    await raw.send(line[:cut])
    await asyncio.sleep(0.05)
    await raw.send(line[cut:])
    answer = await raw.recv()
    assert answer["data"] == {"text": "héllo ✓ 🎉"}


async def test_many_requests_in_one_write_and_one_request_in_many_writes(raw: RawClient) -> None:
    await raw.send(
        b"".join(b'{"cmd":"echo","text":"%d","request_id":%d}\n' % (i, i) for i in range(50))
    )
    answers = [await raw.recv() for _ in range(50)]
    assert sorted(a["request_id"] for a in answers) == list(range(50))
    assert all(a["data"]["text"] == str(a["request_id"]) for a in answers)
    for byte in b'{"cmd":"ping","request_id":"slow"}\n':
        await raw.send(bytes([byte]))
    assert (await raw.recv())["request_id"] == "slow"


async def test_oversized_line_is_refused_and_discarded(raw: RawClient) -> None:
    huge = b'{"cmd": "echo", "text": "' + b"a" * (MAX_REQUEST_BYTES * 3) + b'"}\n'
    await raw.send(huge + b'{"cmd": "ping", "request_id": "next"}\n')
    first = await raw.recv()
    assert first["ok"] is False
    assert first["error"] == "line_too_long"
    second = await raw.recv()
    assert second["request_id"] == "next"
    assert second["ok"] is True


async def test_line_just_over_the_cap_in_one_piece(raw: RawClient) -> None:
    line = b'{"cmd":"echo","text":"' + b"b" * MAX_REQUEST_BYTES + b'"}\n'
    await raw.send(line)
    assert (await raw.recv())["error"] == "line_too_long"
    assert (await raw.ask({"cmd": "ping"}))["ok"] is True


async def test_responses_are_bounded(raw: RawClient) -> None:
    answer = await raw.ask({"cmd": "blob", "size": 2 * 1024 * 1024, "request_id": "big"})
    assert answer["ok"] is False
    assert answer["error"] == "response_too_large"
    assert answer["request_id"] == "big"
    ok = await raw.ask({"cmd": "blob", "size": 1000})
    assert len(ok["data"]["blob"]) == 1000


async def test_blank_lines_are_ignored(raw: RawClient) -> None:
    await raw.send(b"\n  \n\r\n")
    assert (await raw.ask({"cmd": "ping", "request_id": 1}))["request_id"] == 1


async def test_slow_request_does_not_block_the_next_on_the_same_connection(
    raw: RawClient,
) -> None:
    await raw.send(b'{"cmd":"sleep","seconds":3,"request_id":"slow"}\n')
    await raw.send(b'{"cmd":"ping","request_id":"fast"}\n')
    first = await raw.recv()
    assert first["request_id"] == "fast"
    assert (await raw.recv())["request_id"] == "slow"


async def test_socket_is_owner_only(server: IpcServer) -> None:
    mode = server.socket_path.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(server.socket_path.parent.stat().st_mode) == 0o700


async def test_stale_socket_is_replaced_and_removed_on_close(socket_path: Path) -> None:
    import socket

    socket_path.parent.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(socket_path))
    stale.close()  # bound but nobody listening: a leftover from a crash
    assert socket_path.exists()
    async with IpcServer(socket_path, make_registry()):
        client = await RawClient.open(socket_path)
        assert (await client.ask({"cmd": "ping"}))["ok"] is True
        await client.close()
    assert not socket_path.exists()


async def test_a_live_server_is_never_unlinked(server: IpcServer) -> None:
    from mimolo.errors import DataRootError

    second = IpcServer(server.socket_path, make_registry())
    with pytest.raises(DataRootError):
        await second.start()
    client = await RawClient.open(server.socket_path)
    assert (await client.ask({"cmd": "ping"}))["ok"] is True
    await client.close()


async def test_a_non_socket_file_is_not_deleted(socket_path: Path) -> None:
    from mimolo.errors import DataRootError

    socket_path.parent.mkdir(mode=0o700)
    socket_path.write_text("precious")
    with pytest.raises(DataRootError):
        await IpcServer(socket_path, make_registry()).start()
    assert socket_path.read_text() == "precious"


async def test_mutating_commands_refused_while_shutting_down(
    server: IpcServer, raw: RawClient
) -> None:
    server.shutting_down = True
    answer = await raw.ask({"cmd": "mutate"})
    assert answer["error"] == "shutting_down"
    assert (await raw.ask({"cmd": "ping"}))["ok"] is True


async def test_umask_is_restored(server: IpcServer) -> None:
    current = os.umask(0o022)
    os.umask(current)
    assert current != 0o177
