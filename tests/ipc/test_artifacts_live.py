"""The six artifact commands through a real ``mimolo ops`` with a real screen_tracker
capturing a private Xvfb: inventory → archive → plan → refusals → purge → restore, the
evidence's artifact references still matching, tombstones, audit records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from control._live import running_ops, short_data_root, wait_for
from mimolo.dataroot import DataRoot
from mimolo.errors import IpcError
from mimolo.ipc.client import request_sync
from mimolo.testing import xvfb_display

pytestmark = pytest.mark.slow

CONFIG = """\
[settings]
heartbeat_interval_s = 1.0
agent_flush_interval_s = 1.0
stop_grace_s = 3.0
artifact_warn_files = 2

[instances.shots]
plugin_id = "screen_tracker"
instance_label = "Screen"

[instances.shots.params]
capture_interval_s = 1
image_format = "png"
scale = 0.25
"""
TIMEOUT = 60.0


@pytest.fixture
def display() -> Iterator[str]:
    with xvfb_display() as value:
        yield value


def ask(root: DataRoot, cmd: str, **fields: Any) -> dict[str, Any]:
    return request_sync(root.socket_path, cmd, timeout=TIMEOUT, **fields)


def refused(root: DataRoot, cmd: str, **fields: Any) -> IpcError:
    with pytest.raises(IpcError) as caught:
        ask(root, cmd, **fields)
    return caught.value


def artifact_hashes(instance: Path) -> dict[str, str]:
    base = instance / "artifacts"
    return {
        str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(base.rglob("*.png"))
        if not p.name.startswith(".")
    }


def evidence_refs(root: DataRoot) -> list[dict[str, Any]]:
    refs: list[dict[str, Any]] = []
    for path in sorted(root.evidence_dir.rglob("*.evidence.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line).get("record", {})
            refs.extend(record.get("data", {}).get("artifacts", []))
    return refs


def audit_actions(root: DataRoot) -> list[dict[str, Any]]:
    out = []
    for path in sorted(root.diagnostics_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            if doc.get("kind") == "audit":
                out.append(doc)
    return out


def test_the_screen_trackers_artifacts_through_the_whole_flow(
    display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", display)
    with short_data_root() as root, running_ops(root, CONFIG) as ops:
        instance = root.instance_dir("screen_tracker", "shots")
        wait_for(lambda: len(artifact_hashes(instance)) >= 3, "three screenshots", TIMEOUT)
        ask(root, "stop_agent", instance_id="shots")  # a fixed set from here on
        wait_for(lambda: len(evidence_refs(root)) >= 3, "their evidence", TIMEOUT)
        before = artifact_hashes(instance)
        assert all(before[r["rel_path"]] == r["sha256"] for r in evidence_refs(root))

        inventory = ask(root, "get_artifact_inventory", instance_id="shots")
        assert inventory["plugin_id"] == "screen_tracker"
        assert inventory["total_files"] == len(before)
        assert [w["code"] for w in inventory["warnings"]] == ["artifact_files_over"]
        assert [c["retention_class"] for c in inventory["classes"]] == [next(iter(before))[:4]]
        again = ask(root, "get_artifact_inventory", instance_id="shots")
        assert again["total_bytes"] == inventory["total_bytes"]  # from the saved index
        assert (instance / "index" / ".inventory.json").is_file()
        assert refused(root, "get_artifact_inventory", instance_id="nope").code == (
            "unknown_instance"
        )
        assert refused(root, "get_artifact_inventory", instance_id="shots", x=1).code == (
            "invalid_field"
        )
        assert ask(root, "list_instance_archives", instance_id="shots") == {"archives": []}

        made = ask(root, "archive_instance_artifacts", instance_id="shots")
        assert made["verified"] is True and made["skipped"] == []
        item = made["archive"]
        assert item["entries"] == len(before) and item["archive_id"].endswith(
            "_screen_tracker_shots"
        )
        listed = ask(root, "list_instance_archives", instance_id="shots")["archives"]
        assert listed == [item]
        assert refused(
            root, "archive_instance_artifacts", instance_id="shots", start="2026-11-02",
            end="2026-11-01",
        ).code == "invalid_field"  # fmt: skip

        plan = ask(root, "plan_instance_purge", instance_id="shots")
        assert plan["files"] == len(before) and len(plan["sample"]) == len(before)
        assert plan["archive_options"] == [
            {"action": "create_archive"},
            {"action": "use_existing_archive", "archive_id": item["archive_id"], "covers": True},
            {"action": "decline_archive"},
        ]
        plan_id = plan["plan_id"]
        existing = {"action": "use_existing_archive", "archive_id": item["archive_id"]}
        assert (
            refused(root, "execute_instance_purge", plan_id=plan_id, archive_decision=existing).code
            == "purge_not_confirmed"
        )
        assert (
            refused(root, "execute_instance_purge", plan_id=plan_id, confirm=True).code
            == "archive_decision_required"
        )
        assert refused(
            root, "execute_instance_purge", plan_id=plan_id, confirm=True,
            archive_decision={"action": "shred"},
        ).code == "invalid_field"  # fmt: skip
        assert refused(
            root, "execute_instance_purge", plan_id=plan_id, confirm=True,
            archive_decision={"action": "use_existing_archive", "archive_id": "20260101_x_y"},
        ).code == "archive_unknown"  # fmt: skip
        assert artifact_hashes(instance) == before  # every refusal deleted nothing

        done = ask(
            root, "execute_instance_purge", plan_id=plan_id, confirm=True,
            archive_decision=existing,
        )  # fmt: skip
        assert done["deleted_files"] == len(before) and done["tombstones"] == len(before)
        assert done["archive_id"] == item["archive_id"] and done["skipped"] == []
        assert artifact_hashes(instance) == {}
        assert refused(
            root, "execute_instance_purge", plan_id=plan_id, confirm=True,
            archive_decision=existing,
        ).code == "purge_plan_unknown"  # fmt: skip
        stones = (instance / "index" / "tombstones.jsonl").read_text().splitlines()
        assert {json.loads(s)["rel_path"] for s in stones} == set(before)
        assert ask(root, "get_artifact_inventory", instance_id="shots")["total_files"] == 0

        back = ask(
            root, "restore_instance_archive", instance_id="shots", archive_id=item["archive_id"]
        )
        assert back == {
            "restored": len(before), "identical": 0, "conflicts": [], "written": True,
            "overwritten": 0,
        }  # fmt: skip
        assert artifact_hashes(instance) == before
        assert all(before[r["rel_path"]] == r["sha256"] for r in evidence_refs(root))
        again = ask(
            root, "restore_instance_archive", instance_id="shots", archive_id=item["archive_id"]
        )
        assert (again["identical"], again["written"]) == (len(before), False)
        assert refused(
            root, "restore_instance_archive", instance_id="shots",
            archive_id=item["archive_id"], on_conflict="shred",
        ).code == "invalid_field"  # fmt: skip
        assert ops.proc is not None and ops.proc.poll() is None

        wanted = {
            "archive_instance_artifacts",
            "plan_instance_purge",
            "execute_instance_purge",
            "restore_instance_archive",
        }
        wait_for(lambda: wanted <= {a["action"] for a in audit_actions(root)}, "the audit records")
        purge = next(a for a in audit_actions(root) if a["action"] == "execute_instance_purge")
        assert purge["deleted_files"] == len(before) and purge["plan_id"] == plan_id
        assert purge["decision"] == "use_existing_archive"
