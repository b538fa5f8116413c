"""The admin in a real headless Chromium, driven by Playwright against pytest-django's live_server.

Needs Debian's chromium at /usr/bin/chromium and the `playwright` package
(requirements-e2e.txt); `make e2e` installs both and runs `pytest tests/e2e -m e2e`.
Playwright's own browser download (`playwright install`) is never used. Without them,
every module here is reported as skipped, with the reason, and never imported (under
`make e2e`, which sets E2E_REQUIRED=1, as failed instead).
"""

import importlib.util
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1680, "height": 1000}
TIMEOUT_MS = 15_000


def _why_unavailable() -> str | None:
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -r requirements-e2e.txt)")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install chromium chromium-driver)")
    if missing:
        return f"browser tests need {' and '.join(missing)}; `make e2e` installs them"
    return None


UNAVAILABLE = _why_unavailable()


class _UnavailableModule(pytest.Module):
    def collect(self) -> list[Any]:
        if os.environ.get("E2E_REQUIRED"):  # `make e2e`: a run without a browser is a failure
            pytest.fail(UNAVAILABLE or "", pytrace=False)
        pytest.skip(UNAVAILABLE or "")


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    # Skip before importing the module: its `import playwright` would fail.
    if UNAVAILABLE:
        return _UnavailableModule.from_parent(parent, path=module_path)
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, which Django
    # takes for an async context; the ORM calls the tests make here really are synchronous.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any, transactional_db: None, settings: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the live server."""
    # The live server speaks plain HTTP; production keeps its secure cookies.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def log_in(page: Any) -> Callable[[str, str], None]:
    """log_in(username, password): through the admin's own login form, landing on its index."""
    from playwright.sync_api import expect

    def submit(username: str, password: str) -> None:
        page.goto("/admin/login/?next=/admin/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/admin/$"))

    return submit
