"""Fixtures for the package install tests: stores over a fresh data root in each mode."""

from __future__ import annotations

import pytest

from mimolo.agents.catalog import builtin_templates
from mimolo.dataroot import DataRoot
from mimolo.operations.package_store import MAX_PACKAGE_BYTES, PackageStore


def make_store(
    root: DataRoot, *, developer: bool, max_package_bytes: int = MAX_PACKAGE_BYTES
) -> PackageStore:
    return PackageStore(
        root,
        builtins=builtin_templates,
        developer_mode=lambda: developer,
        max_package_bytes=max_package_bytes,
    )


@pytest.fixture
def dev_store(data_root: DataRoot) -> PackageStore:
    return make_store(data_root, developer=True)


@pytest.fixture
def release_store(data_root: DataRoot) -> PackageStore:
    return make_store(data_root, developer=False)
