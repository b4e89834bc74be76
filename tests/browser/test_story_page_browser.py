"""The story page in real headless Chromium, against the live server with the demo corpus loaded.

load_demo runs the real pipeline (spaCy, MiniLM, framing, clustering), so this is the page
a reader gets. Screenshots are saved under var/test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from stories.models import Story
from tests.browser.chromium import CHROMEDRIVER, CHROMIUM, chromium_start, click_and_load, wait_until

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "var" / "test-artifacts"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (requirements/test.txt)")

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)",
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.models,
]


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = chromium_start(width=1300, height=2400)
    driver.implicitly_wait(2)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def demo_story() -> Story:
    """The demo's voter-ID story: covered by the left, the center and the right."""
    call_command("load_demo", stdout=io.StringIO(), stderr=io.StringIO())
    story = Story.objects.listed().filter(title__icontains="voter").order_by("-article_count").first()
    assert story is not None, list(Story.objects.values_list("title", flat=True))
    return story


def screenshot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1300, min(max(height, 800), 8000))
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def test_a_reader_reads_a_demo_story_asks_and_filters(browser: Any, live_server: Any, demo_story: Story) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/stories/{demo_story.pk}/")

    find = browser.find_element
    assert find(By.TAG_NAME, "h1").text == demo_story.title
    assert find(By.CSS_SELECTOR, "div.coverage[role=img]").get_attribute("aria-label").startswith("Coverage:")
    overview = browser.find_elements(By.CSS_SELECTOR, ".overview li")
    assert overview
    assert all(item.find_elements(By.CSS_SELECTOR, "a.cite") for item in overview)
    columns = browser.find_elements(By.CSS_SELECTOR, "section.side")
    assert [column.get_attribute("class") for column in columns] == [
        "side side-left",
        "side side-center",
        "side side-right",
    ]
    assert all("Analysis unavailable" not in column.text for column in columns)
    claims = browser.find_elements(By.CSS_SELECTOR, ".claims-table tr.claim")
    assert claims, "no claims table"
    # The group headings are upper-cased by CSS: read the text as written.
    first_group = find(By.CSS_SELECTOR, ".claims-table tr.claims-group").get_attribute("textContent").strip()
    assert first_group == "Reported by all sides"
    articles = browser.find_elements(By.CSS_SELECTOR, ".article-list > li")
    assert len(articles) == demo_story.article_count
    chart = find(By.CSS_SELECTOR, "svg.timeline-chart")
    assert chart.get_attribute("role") == "img"
    assert browser.find_elements(By.CSS_SELECTOR, ".timeline-table tbody tr")
    screenshot(browser, "story-page")

    question = find(By.ID, "ask-question")
    question.send_keys("How many registered voters lacked a photo ID?")
    click_and_load(browser, find(By.CSS_SELECTOR, ".ask-form button[type=submit]"))
    answer = find(By.CSS_SELECTOR, ".answer")
    assert "87,000" in answer.text
    citation = answer.find_element(By.CSS_SELECTOR, "a.cite")
    target = citation.get_attribute("href").split("#")[1]
    assert target.startswith("article-")
    # The answer takes the focus, so a screen reader reads it without hunting for it.
    # The answer takes the focus once the page has loaded.
    wait_until(browser, lambda driver: driver.switch_to.active_element.get_attribute("id") == "answer")
    screenshot(browser, "story-ask-answer")
    citation.click()
    assert browser.current_url.endswith(f"#{target}")
    assert find(By.ID, target).is_displayed()

    question = find(By.ID, "ask-question")
    question.clear()
    question.send_keys("What is the recipe for banana bread?")
    click_and_load(browser, find(By.CSS_SELECTOR, ".ask-form button[type=submit]"))
    assert find(By.CSS_SELECTOR, ".answer .refusal").text == "The coverage of this story does not answer that question."
    screenshot(browser, "story-ask-refusal")

    # A question with a word no article uses: answered, and marked above its quotes as possibly not an answer.
    question = find(By.ID, "ask-question")
    question.clear()
    question.send_keys("How many registered voters were missing a photo ID?")
    click_and_load(browser, find(By.CSS_SELECTOR, ".ask-form button[type=submit]"))
    caveat = find(By.CSS_SELECTOR, ".answer .answer-caveat")
    assert caveat.text.startswith("These sentences may not answer your question.")
    assert "“missing”" in caveat.text
    assert caveat.location["y"] < find(By.CSS_SELECTOR, ".answer ul.quotes").location["y"]
    assert "87,000" in find(By.CSS_SELECTOR, ".answer").text
    screenshot(browser, "story-ask-marked")

    question = find(By.ID, "ask-question")
    question.clear()
    question.send_keys("What happened?")
    click_and_load(browser, find(By.CSS_SELECTOR, ".ask-form button[type=submit]"))
    headings = [heading.text for heading in browser.find_elements(By.CSS_SELECTOR, ".answer h4")]
    assert headings[0] == "What happened", headings
    assert all(
        item.find_elements(By.CSS_SELECTOR, "a.cite") for item in browser.find_elements(By.CSS_SELECTOR, ".answer li")
    )
    screenshot(browser, "story-ask-broad")

    # On a phone: each claim above its three side cells, and timeline labels large enough to read.
    browser.set_window_size(390, 900)
    browser.get(f"{live_server.url}/stories/{demo_story.pk}/")
    claim = find(By.CSS_SELECTOR, ".claims-table tr.claim")
    text, cells = claim.find_element(By.CSS_SELECTOR, "th"), claim.find_elements(By.CSS_SELECTOR, "td")
    assert all(cell.location["y"] >= text.location["y"] + text.size["height"] - 1 for cell in cells)
    assert text.size["width"] >= 250, text.size
    tick = find(By.CSS_SELECTOR, "svg.timeline-chart text.tick")
    assert tick.size["height"] >= 9, tick.size
    browser.set_window_size(1300, 2400)

    browser.get(f"{live_server.url}/stories/{demo_story.pk}/")
    click_and_load(browser, find(By.CSS_SELECTOR, ".side-filter a[href$='?side=right#articles']"))
    sides = {item.get_attribute("data-side") for item in browser.find_elements(By.CSS_SELECTOR, ".article-list > li")}
    assert sides == {"right"}
    assert find(By.CSS_SELECTOR, ".side-filter a[aria-current=true]").text.startswith("Right")
    screenshot(browser, "story-filter-right")
