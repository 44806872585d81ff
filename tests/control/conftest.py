"""Fixtures for Control tests: a temp data root, a live Control, a headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from mimolo.dataroot import DataRoot

from ._live import LiveControl, live_control, short_data_root
from ._widget_stack import Stack, widget_stack


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def data_root() -> Iterator[DataRoot]:
    with short_data_root() as root:
        yield root


@pytest.fixture(scope="module")
def control(data_root: DataRoot) -> Iterator[LiveControl]:
    """Control serving ``data_root`` with Operations absent (one per test module)."""
    with live_control(data_root) as live:
        yield live


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium per test module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=BROWSER_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page; dialogs are accepted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    new_page = context.new_page()
    new_page.on("dialog", lambda dialog: dialog.accept())
    try:
        yield new_page
    finally:
        context.close()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The probe agents under a real Operations, and Control (shared by the widget tests)."""
    with widget_stack() as running:
        yield running
