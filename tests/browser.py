"""Headless Chromium for tests of pages people use (the query page, the entity pages).

Debian's ``chromium`` driven through its ``chromedriver`` with Selenium; nothing is downloaded.
Each ``Browser`` has a fresh profile, resolves no host name but the loopback ones, and records
every request the page makes and every message it logs, so a test can say "no console errors"
and "nothing left 127.0.0.1". Without Chromium the tests that need it are skipped, unless
``IJKG_REQUIRE_BROWSER=1`` (as in CI): then they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

T = TypeVar("T")

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_CANDIDATES = ("chromedriver",)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Schemes that never reach a network: the browser's own pages and inline data.
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome", "chrome-untrusted", "devtools"})
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--metrics-recording-only",
    # No host name resolves but the loopback ones: a stray request fails instead of leaving.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
    "--window-size=1400,1000",
)


def find_browser() -> tuple[str, str] | None:
    """Paths of Chromium and its driver, or ``None`` when either is missing."""
    chromium = next((p for c in CHROMIUM_CANDIDATES if (p := shutil.which(c))), None)
    driver = next((p for c in DRIVER_CANDIDATES if (p := shutil.which(c))), None)
    if chromium is None or driver is None:
        return None
    return chromium, driver


def require_browser() -> tuple[str, str]:
    """Chromium and its driver; skip the test without them (fail when they are required)."""
    found = find_browser()
    if found is None:
        message = (
            "headless Chromium and chromedriver are needed "
            "(Debian: apt-get install chromium chromium-driver)"
        )
        if os.environ.get("IJKG_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; IJKG_REQUIRE_BROWSER=1 says they must be here")
        pytest.skip(message)
    return found


@dataclass
class Browser:
    """One headless Chromium with a fresh profile, and what its pages did."""

    driver: webdriver.Chrome
    console: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, url: str) -> None:
        self.driver.get(url)

    def script(self, source: str, *args: Any) -> Any:
        return self.driver.execute_script(source, *args)

    def wait_for(
        self, condition: Callable[[], T], *, timeout: float = 20, what: str = "the page"
    ) -> T:
        """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = condition()
            except WebDriverException as exc:  # the page may not be ready yet
                last = exc
            else:
                if value:
                    return value
            time.sleep(0.1)
        self.collect()
        raise AssertionError(
            f"{what} did not happen within {timeout} s"
            + (f" (last error: {last})" if last else "")
            + f"; console: {self.console[-5:]}"
        )

    def collect(self) -> None:
        """Move the browser's console messages and requests into ``console``/``requests``."""
        self.console += self.driver.get_log("browser")
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])
            elif message["method"] == "Network.webSocketCreated":
                self.requests.append(message["params"]["url"])

    def console_errors(self) -> list[dict[str, Any]]:
        self.collect()
        return [e for e in self.console if e.get("level") == "SEVERE"]

    def offsite_requests(self) -> list[str]:
        """Every request the pages made to anything but this machine."""
        self.collect()
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in LOCAL_SCHEMES:
                continue
            if parts.hostname not in LOCAL_HOSTS:
                out.append(url)
        return out

    def screenshot(self, path: Path) -> None:
        self.driver.save_screenshot(str(path))


@contextmanager
def launch(chromium: str, driver_path: str) -> Iterator[Browser]:
    """Start a headless Chromium with a fresh profile; quit it and remove the profile after."""
    profile = tempfile.mkdtemp(prefix="ijkg-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.set_page_load_timeout(30)
        yield Browser(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
