"""Control's capture pause over HTTP against a real Operations with a capturing agent:
the routes, CSRF, bad input, the banner fragment, the paused band on the timeline, and the
banner read from disk while Operations is down."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mimolo.dataroot import DataRoot

from ._capture_ops import capture_ops
from ._live import LiveControl, OpsProcess, wait_for


@pytest.fixture(scope="module")
def ops(data_root: DataRoot) -> Iterator[OpsProcess]:
    with capture_ops(data_root) as process:
        yield process


@pytest.fixture
def client(control: LiveControl, ops: OpsProcess) -> Iterator[httpx.Client]:
    wait_for(lambda: control.ops.available, "Control to reach Operations")
    with control.client() as c:
        c.headers["X-CSRF-Token"] = control.csrf_token(c)
        c.headers["Origin"] = control.base
        yield c


def post(client: httpx.Client, path: str, **form: str) -> httpx.Response:
    return client.post(path, data=form, headers={"Accept": "application/json"})


def test_pause_banner_resume_and_the_paused_band(client: httpx.Client) -> None:
    page = client.get("/").text
    assert "Pause recording…" in page and "capture-banner" not in page
    wait_for(lambda: 'data-state="running"' in client.get("/fragments/cards").text, "the probe")
    answer = post(client, "/api/capture/pause", minutes="15")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ok"] and body["message"] == "Recording paused for 15 minutes."
    assert body["data"]["agents"] == {"probe": "acked"} and body["data"]["by"] == "control"
    fragment = client.get("/fragments/capture").text
    assert "Recording paused" in fragment and body["data"]["until"] in fragment
    assert 'data-post="/api/capture/resume"' in fragment
    forever = post(client, "/api/capture/pause", minutes="until_resumed").json()
    assert forever["data"]["until"] is None
    assert "until you resume it" in client.get("/").text
    resumed = post(client, "/api/capture/resume").json()
    assert resumed["ok"] and resumed["message"] == "Recording resumed."
    assert "Pause recording…" in client.get("/fragments/capture").text
    # the audit trail reaches the diagnostics files within a flush interval
    wait_for(lambda: 'id="paused-band"' in client.get("/timeline").text, "the paused band")
    timeline = client.get("/timeline").text
    assert 'class="paused-span"' in timeline
    assert "Recording paused" in timeline and "via control" in timeline


@pytest.mark.parametrize("minutes", ["0", "99999", "soon", "-5", "1.5"])
def test_bad_minutes_get_a_clear_error_by_the_field(client: httpx.Client, minutes: str) -> None:
    answer = post(client, "/api/capture/pause", minutes=minutes)
    assert answer.status_code == 400
    body = answer.json()
    assert body["ok"] is False and body["key"] == "minutes"
    assert "minutes" in body["message"].lower() or "1440" in body["message"]
    assert "Pause recording…" in client.get("/fragments/capture").text


def test_a_pause_without_the_csrf_token_is_refused(
    control: LiveControl, client: httpx.Client
) -> None:
    with control.client() as bare:
        refused = bare.post("/api/capture/pause", data={"minutes": "15"})
    assert refused.status_code == 403
    assert "Pause recording…" in client.get("/fragments/capture").text


def test_with_operations_down_the_banner_is_read_from_disk(
    control: LiveControl, client: httpx.Client, ops: OpsProcess
) -> None:
    assert post(client, "/api/capture/pause").json()["data"]["until"] is None
    ops.stop()
    try:
        wait_for(lambda: not control.ops.available, "Control to see Operations gone")
        fragment = client.get("/fragments/capture").text
        assert "Recording paused" in fragment and "read from disk" in fragment
        assert "disabled" in fragment  # Resume needs Operations
    finally:
        ops.start()
    wait_for(lambda: control.ops.available, "Control to reconnect")
    assert post(client, "/api/capture/resume").json()["data"]["paused"] is False
