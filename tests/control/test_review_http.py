"""The review routes over HTTP with Operations down: the panel and the rules editor read
from disk, the actions are disabled, bad input is refused by its field before anything is
sent, and a good request says Operations is unavailable (nothing is written)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from mimolo.timeline.review_io import adjustments_path

from ._live import LiveControl, live_control, short_data_root
from ._review_stack import CONFIG, DAY, write_evidence


@pytest.fixture(scope="module")
def served() -> Iterator[LiveControl]:
    with short_data_root() as root:
        root.config_path.write_text(CONFIG, encoding="utf-8")
        write_evidence(root)
        with live_control(root) as control:
            yield control


@pytest.fixture
def client(served: LiveControl) -> Iterator[httpx.Client]:
    with served.client() as c:
        c.headers["X-CSRF-Token"] = served.csrf_token(c)
        c.headers["Origin"] = served.base
        yield c


def test_the_panel_reads_from_disk_with_its_actions_disabled(client: httpx.Client) -> None:
    html = client.get(f"/timeline?date={DAY.isoformat()}").text
    assert '<span id="tl-zone">Europe/Berlin</span>' in html
    assert 'id="review-chart"' in html and 'data-zone="Europe/Berlin"' in html
    assert 'id="sel-apply" data-requires-ops disabled' in html
    assert html.count('data-segment="') >= 2
    fragment = client.get(f"/fragments/review?date={DAY.isoformat()}&view=week&group=instance")
    assert fragment.status_code == 200
    assert 'data-lane="folders-acme"' in fragment.text
    assert "<html" not in fragment.text


@pytest.mark.parametrize(
    ("path", "form", "key"),
    [
        ("/api/review/adjustments", {"kind": "assign_range", "zone": "Europe/Berlin"}, "start"),
        (
            "/api/review/adjustments",
            {
                "kind": "exclude_range",
                "zone": "Europe/Berlin",
                "start": f"{DAY}T09:00",
                "end": f"{DAY}T10:00",
            },
            "reason",
        ),
        ("/api/review/adjustments", {"kind": "x", "zone": "Mars/Olympus"}, "_form"),
        ("/api/review/idle", {"kind": "idle_keep", "start": "nope", "reason": "r"}, "start"),
        ("/api/review/revoke", {"id": "../../etc", "reason": "r"}, "_form"),
        ("/api/review/void", {"id": "abc", "reason": ""}, "reason"),
    ],
)
def test_bad_input_is_refused_by_its_field(
    client: httpx.Client, served: LiveControl, path: str, form: dict[str, str], key: str
) -> None:
    response = client.post(path, data=form)
    assert response.status_code == 400
    answer = response.json()
    assert answer["ok"] is False and answer["key"] == key
    assert not adjustments_path(served.root).exists()


def test_a_good_request_needs_operations(client: httpx.Client, served: LiveControl) -> None:
    form = {
        "kind": "exclude_range", "zone": "Europe/Berlin", "start": f"{DAY}T09:00",
        "end": f"{DAY}T09:30", "reason": "lunch",
    }  # fmt: skip
    response = client.post("/api/review/adjustments", data=form)
    assert response.status_code == 503
    assert response.json()["error"] == "ops_unavailable"
    assert not adjustments_path(served.root).exists()


def test_a_mutation_needs_the_csrf_token(served: LiveControl) -> None:
    with served.client() as c:
        response = c.post("/api/review/revoke", data={"id": "abc", "reason": "r"})
    assert response.status_code == 403


def test_rule_counts_and_their_refusals(client: httpx.Client, served: LiveControl) -> None:
    page = client.get(f"/rules?date={DAY.isoformat()}").text
    assert "Europe/Berlin" in page and 'id="rules-save" data-requires-ops disabled' in page
    rules = [{"rule_id": "folders", "match": {"instance_id": "folders-*"}}]
    answer = client.post(
        "/api/rules/catch", data={"rules": json.dumps(rules), "date": DAY.isoformat()}
    ).json()
    assert answer["ok"] is True
    assert answer["catch"]["folders"] == {"seconds": 5400.0, "text": "1h 30m"}
    assert answer["catch"][answer["default_key"]]["seconds"] == 0.0
    bad = [*rules, {"rule_id": "t", "match": {"title": "(unclosed"}}]
    refused = client.post("/api/rules/catch", data={"rules": json.dumps(bad)})
    assert refused.status_code == 400
    assert refused.json()["key"] == "rules[1].match.title"
    saved = client.post("/api/rules", data={"rules": json.dumps(rules)})
    assert saved.status_code == 503  # Operations is down: nothing is written
    assert "folders" not in served.root.config_path.read_text()


def test_the_reports_form_offers_the_configured_and_seen_clients(client: httpx.Client) -> None:
    html = client.get("/reports").text
    assert '<select id="r-client" name="client">' in html
    for client_id in ("acme", "globex"):
        assert f'<option value="{client_id}">{client_id}</option>' in html
    assert '<option value="redesign">redesign</option>' in html
    assert 'id="reports-zone">Europe/Berlin<' in html


def test_issuing_needs_operations(client: httpx.Client, served: LiveControl) -> None:
    form = {
        "kind": "invoice-pdf", "start": DAY.isoformat(), "end": DAY.isoformat(),
        "client": "acme", "rate": "0", "currency": "EUR", "issue": "issue",
    }  # fmt: skip
    response = client.post("/api/reports", data=form)
    assert response.status_code == 503
    assert response.json()["error"] == "ops_unavailable"
