"""The curators' pages at 1280 px (issue 20): nothing off-screen, derived data shown read-only and readable."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from sources.models import Outlet
from stories.models import Story
from tests.browser.chromium import CHROMEDRIVER, CHROMIUM, screenshot, viewport

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)",
    ),
    pytest.mark.django_db(transaction=True),
]


def log_in(driver: Any, live_server: Any, client: Any) -> None:
    admin = User.objects.create_superuser("editor", "editor@example.org", "x")
    client.force_login(admin)
    driver.get(f"{live_server.url}/admin/login/")
    driver.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"})


def test_the_curators_pages_fit_1280_px_and_show_derived_data_read_only(
    browser: Any, live_server: Any, client: Any, story: Story, left_outlet: Outlet
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, live_server, client)
    viewport(browser, 1280)
    widths = {}
    for name, path in {
        "outlet": f"/admin/sources/outlet/{left_outlet.pk}/change/",
        "story": f"/admin/stories/story/{story.pk}/change/",
        "stories": "/admin/stories/story/",
    }.items():
        browser.get(f"{live_server.url}{path}")
        widths[name] = browser.execute_script("return document.documentElement.scrollWidth")
        screenshot(browser, f"admin-{name}")
        viewport(browser, 1280)
        if name == "story":
            assert not browser.find_elements(By.NAME, "left_count")
            assert not browser.find_elements(By.NAME, "ratings_snapshot")
            assert (
                "centroid: a 384-dimension vector over 3 article(s)"
                in browser.find_element(By.CSS_SELECTOR, ".field-grouping").text
            )
            assert browser.find_elements(By.CSS_SELECTOR, ".field-claims_table table, .field-claims_table")
        if name == "stories":
            title = browser.find_element(By.CSS_SELECTOR, "#result_list td.field-title")
            assert title.size["width"] >= 250, title.size

    assert all(width <= 1280 for width in widths.values()), widths
