"""The reader pages over HTTP, with query counts pinned; and the production settings' refusal to boot unconfigured."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from django.core.cache import cache
from django.test import Client
from django.utils.html import escape
from django.utils.text import slugify

from clustering.services import cluster_assign
from sources.models import Lean, Outlet
from stories.models import Story
from stories.services import story_refresh
from tests.conftest import analysed_article_make, outlet_make, story_build, unit_vector

QueryCounter = Callable[..., Any]
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def side_column(html: str, side: str) -> str:
    """The HTML of one side's column on a story page."""
    match = re.search(rf'<section class="side side-{side}".*?</section>', html, re.DOTALL)
    assert match, f"no {side} column"
    return match.group(0)


def test_it_lists_the_story_with_its_coverage_bar_on_the_home_page(client: Client, story: Story) -> None:
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<a href="/stories/{story.pk}/">{escape(story.title)}</a>' in html
    assert 'aria-label="Coverage: 1 left, 1 center, 1 right, 0 unrated"' in html
    for segment in ("seg-left", "seg-center", "seg-right"):
        assert f'<span class="seg {segment}" style="width: 33.3%">' in html
    assert "3 articles from 3 outlets" in html


def test_it_says_so_when_there_are_no_stories_yet(client: Client, db: None) -> None:
    html = client.get("/").content.decode()

    assert "No stories yet." in html


def test_it_shows_each_article_in_its_side_s_column_with_outlet_and_lean(client: Client, story: Story) -> None:
    response = client.get(f"/stories/{story.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    headings = re.findall(r'<h2 id="side-(\w+)">(\w+) <span class="count">(\d+)</span></h2>', html)
    assert headings == [("left", "Left", "1"), ("center", "Center", "1"), ("right", "Right", "1")]
    expected = {
        "left": ("Left Ledger", "Left", "Fare hike hits riders hardest"),
        "center": ("Center Courier", "Center", "Transit board raises fare to $2.75"),
        "right": ("Right Record", "Lean right", "Transit agency's spending forces fare rise"),
    }
    for side, (outlet, lean_label, title) in expected.items():
        column = side_column(html, side)
        articles = column.split('<ul class="side-articles">')[1]
        assert f'<a class="outlet" href="/outlets/{slugify(outlet)}/">{outlet}</a>' in articles
        assert f">{lean_label}</span>" in articles
        assert escape(title) in articles
        others = [name for other, (name, _lean, _title) in expected.items() if other != side]
        assert not any(name in column for name in others)
        assert "Analysis unavailable" not in column


def test_it_shows_why_a_side_without_coverage_has_no_analysis(
    client: Client, left_outlet: Outlet, center_outlet: Outlet, story_vector: np.ndarray[Any, Any]
) -> None:
    story = story_build(
        [
            analysed_article_make(outlet=left_outlet, title="Fare hike", vector=unit_vector(2, near=story_vector)),
            analysed_article_make(outlet=center_outlet, title="Fare rises", vector=unit_vector(3, near=story_vector)),
        ]
    )

    html = client.get(f"/stories/{story.pk}/").content.decode()

    right = side_column(html, "right")
    assert "Analysis unavailable for this viewpoint" in right
    assert "No outlet rated on this side has covered this story." in right
    for side in ("left", "center"):
        assert "Analysis unavailable" not in side_column(html, side)
    assert html.count("Analysis unavailable for this viewpoint") == 1
    home = client.get("/").content.decode()
    # The card counts the missing side; "blindspot" is said only under the one rule, in its words.
    assert "1 left · 1 center · 0 right" in home
    assert "Not covered by" not in home


def test_it_lists_unrated_outlets_apart_from_the_sides(
    client: Client, story: Story, unrated_outlet: Outlet, story_vector: np.ndarray[Any, Any]
) -> None:
    article = analysed_article_make(
        outlet=unrated_outlet, title="Fares up again", vector=unit_vector(9, near=story_vector)
    )
    cluster_assign(article_id=article.pk)
    story_refresh(story_id=story.pk)

    html = client.get(f"/stories/{story.pk}/").content.decode()

    assert "Unrated Roundup" in html.split("From unrated outlets")[1]
    assert not any("Unrated Roundup" in side_column(html, side) for side in ("left", "center", "right"))


def test_it_answers_404_for_an_unknown_story(client: Client, story: Story) -> None:
    assert client.get(f"/stories/{story.pk + 1000}/").status_code == 404


def test_it_shows_a_story_page_in_a_fixed_number_of_queries(
    client: Client, django_assert_num_queries: QueryCounter, story: Story, story_vector: np.ndarray[Any, Any]
) -> None:
    for number, lean in enumerate([Lean.LEFT, Lean.LEAN_LEFT, Lean.RIGHT, ""]):
        outlet = outlet_make(f"Extra Outlet {number}", lean)
        article = analysed_article_make(
            outlet=outlet, title=f"Extra {number}", vector=unit_vector(80 + number, near=story_vector)
        )
        cluster_assign(article_id=article.pk)
    story_refresh(story_id=story.pk)

    # The story's version with its FAQ's ids (the cache key), the story, its viewpoints, its articles
    # with outlets and analyses, its FAQ.
    with django_assert_num_queries(5):
        response = client.get(f"/stories/{story.pk}/")
    # Served again from the cache: only the version with the FAQ's ids is read.
    with django_assert_num_queries(1):
        again = client.get(f"/stories/{story.pk}/")

    assert response.content.decode().count('class="badge lean-') == 2 * 7 - 1  # side columns skip the unrated one
    assert again.content == response.content


def test_it_shows_a_refreshed_story_page_not_a_cached_one(client: Client, story: Story, left_outlet: Outlet) -> None:
    client.get(f"/stories/{story.pk}/")
    Story.objects.filter(pk=story.pk).update(title="A corrected title")
    story_refresh(story_id=story.pk)
    Story.objects.filter(pk=story.pk).update(title="A corrected title")

    response = client.get(f"/stories/{story.pk}/")

    assert "A corrected title" in response.content.decode()


def test_a_rendered_page_is_kept_in_the_process_in_front_of_the_shared_cache(client: Client, story: Story) -> None:
    first = client.get(f"/stories/{story.pk}/").content
    cache.clear()  # the shared cache (Redis in production) loses it, or another process rendered it

    with patch("stories.views.render_to_string", side_effect=AssertionError("rendered again")):
        kept = client.get(f"/stories/{story.pk}/").content
    story_refresh(story_id=story.pk)  # a new version: a new key, which neither cache holds
    Story.objects.filter(pk=story.pk).update(title="A corrected title")
    refreshed = client.get(f"/stories/{story.pk}/").content.decode()

    assert kept == first
    assert "A corrected title" in refreshed


def test_it_shows_the_home_page_in_a_fixed_number_of_queries(
    client: Client, django_assert_num_queries: QueryCounter, story: Story, left_outlet: Outlet
) -> None:
    for number in range(3):
        story_build(
            [analysed_article_make(outlet=left_outlet, title=f"Other story {number}", vector=unit_vector(90 + number))]
        )

    # The stories' version (the cache key), the count for the pager, the page of stories.
    with django_assert_num_queries(3):
        response = client.get("/")
    with django_assert_num_queries(1):
        again = client.get("/")
    story_build([analysed_article_make(outlet=left_outlet, title="A newer story", vector=unit_vector(99))])
    after_refresh = client.get("/")

    assert response.content.decode().count('class="story-card"') == 4
    assert again.content == response.content
    assert after_refresh.content.decode().count('class="story-card"') == 5


# --- Production settings ----------------------------------------------------------


def django_setup_in_production(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "newsroom.settings.production", **environment}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# What a production deployment sets: a strong key and a shared cache (no connection is made at start-up).
STRONG_KEY = "k7Qe-" + "x9ZpL2vR" * 7
SHARED_CACHE = "redis://127.0.0.1:6379/15"


def test_it_refuses_to_start_in_production_without_a_secret_key() -> None:
    # Set but empty, so neither this shell's environment nor a local .env file can supply one.
    result = django_setup_in_production(
        DJANGO_SECRET_KEY="", DJANGO_ALLOWED_HOSTS="news.example", CACHE_URL=SHARED_CACHE
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set in production." in result.stderr


@pytest.mark.parametrize("key", ["a-long-production-secret", "django-insecure-" + "abcdefgh" * 6, "ab" * 30])
def test_it_refuses_to_start_in_production_with_a_weak_secret_key(key: str) -> None:
    result = django_setup_in_production(
        DJANGO_SECRET_KEY=key, DJANGO_ALLOWED_HOSTS="news.example", CACHE_URL=SHARED_CACHE
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too weak for production" in result.stderr


def test_it_refuses_to_start_in_production_without_allowed_hosts() -> None:
    result = django_setup_in_production(DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_ALLOWED_HOSTS="", CACHE_URL=SHARED_CACHE)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_ALLOWED_HOSTS must be set in production." in result.stderr


def test_it_refuses_to_start_in_production_with_a_cache_each_process_keeps_alone() -> None:
    result = django_setup_in_production(
        DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_ALLOWED_HOSTS="news.example", CACHE_URL="locmemcache://"
    )

    assert result.returncode != 0
    assert "CACHE_URL must name a cache shared by every web process in production" in result.stderr


def test_it_starts_in_production_with_a_secret_key_allowed_hosts_and_a_shared_cache() -> None:
    result = django_setup_in_production(
        DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_ALLOWED_HOSTS="news.example", CACHE_URL=SHARED_CACHE
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_deployment_check_passes_with_the_production_settings() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "newsroom.settings.production",
        "DJANGO_SECRET_KEY": STRONG_KEY,
        "DJANGO_ALLOWED_HOSTS": "news.example",
        "CACHE_URL": SHARED_CACHE,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_tls_terminating_proxy_may_turn_the_redirect_and_hsts_off() -> None:
    env = {
        "DJANGO_SECRET_KEY": STRONG_KEY,
        "DJANGO_ALLOWED_HOSTS": "news.example",
        "CACHE_URL": SHARED_CACHE,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS)",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "newsroom.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.stdout.strip() == "False 0", result.stderr
