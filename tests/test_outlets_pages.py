"""Outlet pages over HTTP: the index, and each outlet's rating history, recent articles and frames."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils.html import escape

from sources.models import Factuality, Lean, Outlet
from sources.ratings import outlet_rating_add
from stories.models import Story
from tests.conftest import STORY_TIME, analysed_article_make, outlet_make, story_build, unit_vector

QueryCounter = Callable[..., Any]


def test_it_lists_outlets_with_their_lean_and_article_count(
    client: Client, story: Story, unrated_outlet: Outlet
) -> None:
    response = client.get("/outlets/")

    html = response.content.decode()
    assert response.status_code == 200
    rows = re.findall(
        r'<th scope="row"><a href="/outlets/([\w-]+)/">([^<]+)</a></th>\s*<td><span class="badge lean-(\w*)">', html
    )
    assert rows == [
        ("center-courier", "Center Courier", "center"),
        ("left-ledger", "Left Ledger", "left"),
        ("right-record", "Right Record", "lean_right"),
        ("unrated-roundup", "Unrated Roundup", ""),
    ]
    assert html.count('<td class="number">1</td>') == 3
    assert html.count('<td class="number">0</td>') == 1


def test_it_shows_the_rating_history_newest_first_with_rater_date_and_note(client: Client, left_outlet: Outlet) -> None:
    outlet_rating_add(
        outlet=left_outlet,
        lean=Lean.LEAN_LEFT,
        factuality=Factuality.HIGH,
        rated_by="Internal review 2026",
        note="Moved after a year of coverage.",
    )

    html = client.get("/outlets/left-ledger/").content.decode()

    assert '<span class="badge lean-lean_left">Lean left</span> (counts for the left)' in html
    history = html.split('id="ratings-heading"')[1].split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr(?: class=\"current\")?>.*?</tr>", history, re.S)
    assert len(rows) == 2
    assert "(current)" in rows[0]
    assert "Internal review 2026" in rows[0]
    assert "Moved after a year of coverage." in rows[0]
    assert "<td>High</td>" in rows[0]
    assert "Test fixture" in rows[1]
    assert "<td>Left</td>" in rows[1]
    assert history.count("(current)") == 1


def test_it_shows_recent_articles_with_their_story_and_the_share_of_each_frame(
    client: Client, story: Story, left_outlet: Outlet
) -> None:
    other = analysed_article_make(
        outlet=left_outlet,
        title="Bus lanes open downtown",
        vector=unit_vector(70),
        published_at=STORY_TIME + timedelta(days=1),
        frames=[
            {"frame": "Fairness_and_equality", "score": 0.7, "sentences": [0]},
            {"frame": "Economic", "score": 0.6, "sentences": [0]},
        ],
    )
    bus_story = story_build([other])

    html = client.get("/outlets/left-ledger/").content.decode()

    recent = html.split('id="recent-heading"')[1]
    assert recent.index("Bus lanes open downtown") < recent.index("Fare hike hits riders hardest")
    assert f'in <a href="/stories/{bus_story.pk}/">' in recent
    assert f'in <a href="/stories/{story.pk}/">{escape(story.title)}</a>' in recent
    frames = html.split('id="frames-heading"')[1].split("</section>")[0]
    assert "Share of its 2 analysed articles" in frames
    shares = re.findall(
        r'<span class="frame-name">([^<]+)</span>.*?<span class="frame-value">([^<]+)</span>', frames, re.S
    )
    assert shares == [("Fairness &amp; equality", "100% (2)"), ("Economic", "50% (1)")]


def test_it_says_an_unrated_outlet_counts_for_no_side(client: Client, unrated_outlet: Outlet) -> None:
    html = client.get("/outlets/unrated-roundup/").content.decode()

    assert "(counts for no side)" in html
    assert "Not rated yet: its articles count for no side." in html
    assert "No analysed articles with frames yet." in html


def test_it_answers_404_for_an_unknown_outlet(client: Client, db: None) -> None:
    assert client.get("/outlets/no-such-outlet/").status_code == 404


def test_it_serves_outlet_pages_in_a_fixed_number_of_queries(
    client: Client, django_assert_num_queries: QueryCounter, story: Story, left_outlet: Outlet
) -> None:
    # The outlet's version (the cache key), the outlet with its article count, its ratings, its
    # recent articles with stories, its frames.
    with django_assert_num_queries(5):
        client.get("/outlets/left-ledger/")
    # Served again from the cache: only the version is read.
    with django_assert_num_queries(1):
        client.get("/outlets/left-ledger/")
    for number in range(5):
        outlet_rating_add(outlet=left_outlet, lean=Lean.LEFT, rated_by=f"Rater {number}")
        story_build(
            [
                analysed_article_make(
                    outlet=left_outlet, title=f"Another story {number}", vector=unit_vector(200 + number)
                )
            ]
        )
        outlet_make(f"Another outlet {number}", Lean.CENTER)

    # New ratings and articles change the version: the page is rendered again.
    with django_assert_num_queries(5):
        response = client.get("/outlets/left-ledger/")
    # The outlet list: its version (outlets and ratings), then the outlets with their article counts.
    with django_assert_num_queries(2):
        index = client.get("/outlets/")
    with django_assert_num_queries(1):
        client.get("/outlets/")

    assert response.content.decode().count('in <a href="/stories/') == 6
    assert index.content.decode().count('<th scope="row">') == 8


def test_it_counts_frames_over_the_latest_analysed_articles_only(
    client: Client, left_outlet: Outlet, monkeypatch: Any
) -> None:
    monkeypatch.setattr("stories.browse.OUTLET_FRAME_SAMPLE", 2)
    for number, frame in enumerate(["Political", "Economic", "Economic"]):
        analysed_article_make(
            outlet=left_outlet,
            title=f"Article {number}",
            vector=unit_vector(300 + number),
            published_at=STORY_TIME + timedelta(days=number),
            frames=[{"frame": frame, "score": 0.5, "sentences": [0]}],
        )

    html = client.get("/outlets/left-ledger/").content.decode()

    frames = html.split('id="frames-heading"')[1].split("</section>")[0]
    assert "Share of its latest 2 analysed articles" in frames
    assert "Economic" in frames
    assert "Political" not in frames
