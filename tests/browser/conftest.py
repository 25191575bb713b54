"""The browser tests' fixtures: one headless Chromium and one app server per test module."""

import pytest

from tests.browser.session import CHROMIUM, MISSING, playwright, running_app


def pytest_collection_modifyitems(config, items):
    """Every browser test is skipped, with the reason, on a machine without Chromium or Playwright (.ci/run
    installs both)."""
    if MISSING:
        here = str(__file__).rsplit("/", 1)[0]
        for item in items:
            if str(item.path).startswith(here):
                item.add_marker(pytest.mark.skip(reason=MISSING))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    with running_app(work) as base:
        yield {"base": base, "work": work}


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--use-gl=swiftshader",
                "--enable-unsafe-swiftshader",
            ],
        )
        yield b
        b.close()
