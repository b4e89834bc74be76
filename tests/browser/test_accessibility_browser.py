"""The main pages under axe-core in headless Chromium, at 1280 and 390 px wide, and reflow at 320 px.

axe-core is fetched by `make axe` (part of `make test`): npm's tarball of a pinned version,
checked against its SHA-256, under var/axe-core/. WCAG 2.1 A and AA rules; a serious or
critical violation fails the test. Screenshots of each page at both widths are saved under
var/test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sources.models import Outlet
from stories.models import Story
from tests.browser.chromium import (
    ARTIFACTS,
    CHROMEDRIVER,
    CHROMIUM,
    click_and_load,
    screenshot,
    viewport,
    wait_until,
)

AXE = Path(__file__).resolve().parent.parent.parent / "var" / "axe-core" / "axe.min.js"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (requirements/test.txt)")

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)",
    ),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is not fetched: run `make axe`"),
    pytest.mark.django_db(transaction=True),
]

WIDTHS = {"desktop": 1280, "phone": 390}
SEVERE = {"serious", "critical"}
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result: list[dict[str, Any]] = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values: arguments[0]}}).then(
          (result) => done(result.violations.map((violation) => ({
            id: violation.id, impact: violation.impact,
            nodes: violation.nodes.slice(0, 5).map((node) => node.target.join(" ")),
          }))),
          (error) => done([{id: "axe-error", impact: "critical", nodes: [String(error)]}]),
        );
        """,
        RULES,
    )
    return result


@pytest.fixture
def pages(story: Story, left_outlet: Outlet) -> dict[str, str]:
    return {
        "home": "/",
        "story": f"/stories/{story.pk}/",
        "story-filtered": f"/stories/{story.pk}/?side=unrated#articles",
        "blindspots": "/blindspot/",
        "outlets": "/outlets/",
        "outlet": f"/outlets/{left_outlet.slug}/",
        "search": "/search/?q=fare",
        "methodology": "/methodology/",
        "ratings-changelog": "/ratings/changelog/",
        "digest": "/digest/",
        "report": f"/stories/{story.pk}/report/?target=overview",
        "api-docs": "/api/docs/",
    }


def test_the_main_pages_have_no_serious_accessibility_violations_at_both_widths(
    browser: Any, live_server: Any, pages: dict[str, str]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[dict[str, Any]]] = {}
    for width_name, width in WIDTHS.items():
        viewport(browser, width)
        for name, path in pages.items():
            browser.get(f"{live_server.url}{path}")
            if name == "api-docs":  # Swagger UI draws the operations after loading the schema
                WebDriverWait(browser, 20).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, ".opblock"))
            severe = [violation for violation in axe_violations(browser) if violation["impact"] in SEVERE]
            if severe:
                found[f"{name} at {width} px"] = severe
            if name == "story":
                # The sections that suffered on a phone, one image each.
                for section in ("claims", "timeline", "ask"):
                    element = browser.find_element(By.ID, section)
                    element.screenshot(str(ARTIFACTS / f"a11y-story-{section}-{width_name}.png"))
            screenshot(browser, f"a11y-{name}-{width_name}")
            viewport(browser, width)

    assert not found, json.dumps(found, indent=1)


def test_the_report_form_s_error_state_and_the_ask_answer_pass_too(
    browser: Any, live_server: Any, story: Story
) -> None:
    from selenium.webdriver.common.by import By

    found: dict[str, list[dict[str, Any]]] = {}
    for width in WIDTHS.values():
        viewport(browser, width)
        browser.get(f"{live_server.url}/stories/{story.pk}/report/")
        browser.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
        # The server's error takes the focus, and each field's error is the one its aria-describedby names.
        # The click posts the form: wait for the page that answers it, not the one being left.
        wait_until(browser, lambda driver: driver.switch_to.active_element.get_attribute("class") == "error")
        reason = browser.find_element(By.ID, "id_reason")
        for described in (reason.get_attribute("aria-describedby") or "").split():
            assert browser.find_elements(By.ID, described), f"#{described} is not on the page"
        severe = [violation for violation in axe_violations(browser) if violation["impact"] in SEVERE]
        if severe:
            found[f"report error at {width} px"] = severe

    assert not found, json.dumps(found, indent=1)


def test_no_page_scrolls_sideways_at_320_px(browser: Any, live_server: Any, pages: dict[str, str]) -> None:
    viewport(browser, 320)
    wide = {}
    for name, path in pages.items():
        browser.get(f"{live_server.url}{path}")
        scroll_width = browser.execute_script("return document.documentElement.scrollWidth")
        if scroll_width > 320:
            # The innermost elements sticking out, to say where to look.
            wide[name] = browser.execute_script(
                """
                const out = [];
                for (const element of document.querySelectorAll("body *")) {
                  const box = element.getBoundingClientRect();
                  const inner = [...element.children].some((child) => child.getBoundingClientRect().right > 321);
                  if (box.right > 321 && !inner) {
                    out.push(element.tagName + "." + element.className + " " + Math.round(box.right));
                  }
                }
                return out.slice(0, 5);
                """
            )

    assert not wide, wide


def test_ask_shows_progress_while_the_answer_comes(browser: Any, live_server: Any, story: Story) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/stories/{story.pk}/")
    # Hold the request back (as a slow answer would) to see what the reader sees meanwhile.
    browser.execute_script(
        'document.querySelector("form.ask-form").addEventListener("submit", (event) => event.preventDefault());'
    )
    browser.find_element(By.ID, "ask-question").send_keys("When does the fare rise?")
    browser.find_element(By.CSS_SELECTOR, ".ask-form button[type=submit]").click()

    progress = browser.find_element(By.ID, "ask-progress")
    assert progress.text == "Looking for the answer in this story's articles…"
    assert progress.get_attribute("role") == "status"
    assert browser.find_element(By.CSS_SELECTOR, ".ask-form button[type=submit]").get_attribute("aria-busy") == "true"


def test_after_asking_the_focus_is_on_the_answer(browser: Any, live_server: Any, story: Story) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/stories/{story.pk}/")
    browser.find_element(By.ID, "ask-question").send_keys("What happened?")
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, ".ask-form button[type=submit]"))

    browser.find_element(By.CSS_SELECTOR, ".answer")
    assert browser.current_url.endswith("/ask/#ask")
    # The answer takes the focus once the page has loaded.
    wait_until(browser, lambda driver: driver.switch_to.active_element.get_attribute("id") == "answer")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.find_element(By.ID, "ask").screenshot(str(ARTIFACTS / "a11y-story-ask-broad-answer.png"))
