"""A purged artifact still reads: resolving its token says "purged (archived in X)"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import ArtifactError
from mimolo.operations.artifact_tokens import ArtifactTokenStore
from mimolo.operations.artifacts.purge import ArchiveDecision
from mimolo.operations.artifacts.service import ArtifactService, Window

from ._tree import DAY1, INSTANCE, PLUGIN, instance_dir, put

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(500)


@pytest.mark.parametrize(
    ("action", "says"),
    [("create_archive", "purged (archived in 2026"), ("decline_archive", "purged (not archived)")],
)
def test_a_token_for_a_purged_artifact_names_its_archive(
    tmp_path: Path, action: str, says: str
) -> None:
    root = DataRoot(tmp_path / "root")
    put(instance_dir(root), "2026/11/01/shot.png", PNG, DAY1)
    tokens = ArtifactTokenStore(root)
    grant = tokens.issue(PLUGIN, INSTANCE, "2026/11/01/shot.png")
    assert tokens.resolve(grant.token).bytes == len(PNG)
    svc = ArtifactService(root)
    plan, _ = svc.plan(PLUGIN, INSTANCE, Window())
    result = svc.execute(svc.plans.take(plan.plan_id), ArchiveDecision(action=action))  # type: ignore[arg-type]
    with pytest.raises(ArtifactError) as caught:
        tokens.resolve(grant.token)
    assert caught.value.code == "artifact_missing"
    assert says in caught.value.message
    if result.archive_id:
        assert f"purged (archived in {result.archive_id})" in caught.value.message


def test_a_missing_artifact_never_purged_is_just_missing(tmp_path: Path) -> None:
    root = DataRoot(tmp_path / "root")
    path = put(instance_dir(root), "2026/11/01/shot.png", PNG, DAY1)
    tokens = ArtifactTokenStore(root)
    grant = tokens.issue(PLUGIN, INSTANCE, "2026/11/01/shot.png")
    path.unlink()
    with pytest.raises(ArtifactError) as caught:
        tokens.resolve(grant.token)
    assert caught.value.code == "artifact_missing" and "purged" not in caught.value.message
