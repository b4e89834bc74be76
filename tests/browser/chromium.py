"""Helpers of the browser tests: Chromium at a given width, and screenshots of whole pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "var" / "test-artifacts"


def chromium_start(*, width: int = 1280, height: int = 900) -> Any:
    """Headless Chromium through Debian's chromedriver, with the flags the machine needs."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = chromium_start()
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def click_and_load(driver: Any, element: Any, *, seconds: int = 30) -> None:
    """Click what leaves the page (a form's submit, a link to another page) and wait for the next one.

    Reading elements right after such a click may read the page being left: the next page's
    server may take seconds under load (an Ask encodes the question), and the old page has
    elements of the same names (an answer, the article list)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    leaving = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, seconds).until(lambda _: _gone(leaving))


def wait_until(driver: Any, condition: Callable[[Any], bool], *, seconds: int = 20) -> None:
    """Wait for ``condition(driver)`` across a page load: what it reads of the page being left may be
    stale, or caught between two documents (see ``_gone``); it is read again until the time is up."""
    from selenium.webdriver.support.ui import WebDriverWait

    def settled(driver: Any) -> bool:
        try:
            return condition(driver)
        except Exception as error:
            if _between_documents(error):
                return False
            raise

    WebDriverWait(driver, seconds).until(settled)


def _between_documents(error: Exception) -> bool:
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    if isinstance(error, StaleElementReferenceException):
        return True
    return isinstance(error, WebDriverException) and "does not belong to the document" in str(error)


def _gone(element: Any) -> bool:
    """Whether the element has left the document.

    Chromium reports an element of a page being replaced either as stale or, caught between
    two documents, as "Node with given id does not belong to the document": both mean gone."""
    try:
        element.is_enabled()
    except Exception as error:
        if _between_documents(error):
            return True
        raise
    return False


def viewport(driver: Any, width: int, height: int = 900) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def screenshot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = driver.execute_script("return window.innerWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    viewport(driver, width, min(max(height, 600), 6000))
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
