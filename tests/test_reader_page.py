"""The story page in plain words (issue 20): how it was made said once, at the foot; one blindspot
definition; merged stories' old addresses sent on; outlet links; an empty side filter explained."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import numpy as np
from django.test import Client

from clustering import services as clustering
from sources.models import Outlet
from stories import services as story_services
from stories.models import Story
from tests.conftest import STORY_TIME, analysed_article_make, story_build, unit_vector


def test_the_story_page_keeps_scores_and_rules_out_of_the_reader_s_way(client: Client, story: Story) -> None:
    html = client.get(f"/stories/{story.pk}/").content.decode()
    header = re.search(r'<header class="story-header">.*?</header>', html, re.DOTALL)
    assert header

    for raw in ("Clustering confidence", "re-clustered", "(rule:", "negative … +1 positive"):
        assert raw not in html
    assert '<a href="#how-made">How this page was made</a>' in header.group(0)
    made = re.search(r'<section class="how-made".*?</section>', html, re.DOTALL)
    assert made
    assert "A model compares each article with the story" in made.group(0)
    assert "Sentence embeddings:" in made.group(0)
    assert "spaCy pipeline:" in made.group(0), "the library's own spelling, not SpaCy"
    assert "/tests/fixtures/" not in made.group(0)  # a model on the server's disk is named, not located
    side_tone = r"((negative|neutral|positive) in \d+ of \d+ articles?|mixed: [^<]+)"
    assert re.search(rf"Tone toward the people and groups named: {side_tone} <a", html)
    assert html.count(">Learn more</a>") >= 3
    methodology = client.get("/methodology/").content.decode()
    for anchor in ('id="overview"', 'id="tone"', 'id="faq"', 'id="grouping"'):
        assert anchor in methodology


def test_one_blindspot_definition_in_the_same_words_everywhere(client: Client, story: Story) -> None:
    definition = "A story is a blindspot for the left or the right when that side has at most"
    assert definition in client.get("/blindspot/").content.decode()
    assert definition in client.get("/methodology/").content.decode()
    assert "did not cover at all" not in client.get("/methodology/").content.decode()


def test_outlet_names_link_to_their_pages_and_the_digest_is_offered_once(
    client: Client, story: Story, left_outlet: Outlet
) -> None:
    html = client.get(f"/stories/{story.pk}/").content.decode()

    assert f'<a class="outlet" href="/outlets/{left_outlet.slug}/">{left_outlet.name}</a>' in html
    assert html.count('href="/digest/">Subscribe to the digest</a>') == 1


def test_an_empty_side_filter_says_why(client: Client, story: Story) -> None:
    html = client.get(f"/stories/{story.pk}/?side=unrated").content.decode()

    assert "Every outlet in this story is rated: no article counts as unrated." in html


def test_an_empty_side_filter_explains_a_side_with_no_articles(
    client: Client, left_outlet: Outlet, center_outlet: Outlet, story_vector: np.ndarray[Any, Any]
) -> None:
    two_sides = story_build(
        [
            analysed_article_make(outlet=left_outlet, title="Fare hike", vector=unit_vector(2, near=story_vector)),
            analysed_article_make(outlet=center_outlet, title="Fare rises", vector=unit_vector(3, near=story_vector)),
        ]
    )

    html = client.get(f"/stories/{two_sides.pk}/?side=right").content.decode()

    assert "Showing 0 of 2 articles." in html
    assert "No outlet rated right has an article in this story" in html


def test_a_merged_story_s_old_address_redirects_to_the_story_it_joined(
    client: Client, story: Story, left_outlet: Outlet, story_vector: np.ndarray[Any, Any]
) -> None:
    other = story_build(
        [
            analysed_article_make(
                outlet=left_outlet,
                title="Far away story",
                vector=unit_vector(40),
                published_at=STORY_TIME + timedelta(hours=1),
            )
        ]
    )
    assert other.pk != story.pk
    clustering.clusters_merge(into_id=story.pk, story_ids=[other.pk], actor=None)
    story_services.story_refresh(story_id=story.pk)

    page = client.get(f"/stories/{other.pk}/?side=left")
    api = client.get(f"/api/v1/stories/{other.pk}/")

    assert page.status_code == 301
    assert page["Location"] == f"/stories/{story.pk}/?side=left"
    assert api.status_code == 301
    assert api["Location"].endswith(f"/api/v1/stories/{story.pk}/")
    assert client.get(f"/stories/{story.pk + 1000}/").status_code == 404
    assert client.get(f"/api/v1/stories/{story.pk + 1000}/").status_code == 404


def test_every_page_has_an_icon(client: Client, db: None) -> None:
    html = client.get("/").content.decode()

    assert '<link rel="icon" href="/static/newsroom/favicon.svg" type="image/svg+xml">' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/newsroom/favicon.svg"


def test_the_api_docs_page_says_its_language_and_has_a_main_landmark(client: Client, db: None) -> None:
    html = client.get("/api/docs/").content.decode()

    assert '<html lang="en">' in html
    assert '<main id="swagger-ui"></main>' in html


def test_both_search_forms_are_labelled_landmarks(client: Client, db: None) -> None:
    html = client.get("/search/?q=fare").content.decode()

    assert html.count('role="search"') == 2
    assert 'role="search" aria-label="Site"' in html
    assert 'role="search" aria-label="Stories and articles"' in html


def test_the_report_form_names_help_and_errors_by_the_ids_its_fields_point_to(client: Client, story: Story) -> None:
    blank = client.get(f"/stories/{story.pk}/report/").content.decode()
    assert 'aria-describedby="id_quoted_text_helptext"' in blank
    assert 'id="id_quoted_text_helptext"' in blank

    html = client.post(f"/stories/{story.pk}/report/", {"target": "overview"}).content.decode()

    described = re.search(r'<select name="reason"[^>]*aria-describedby="([^"]+)"', html)
    assert described
    for element_id in described.group(1).split():
        assert f'id="{element_id}"' in html
    assert 'role="alert" tabindex="-1" data-focus>Please correct the fields marked below.</p>' in html


def test_the_claims_table_has_row_headers_and_says_not_reported_in_text(client: Client, story: Story) -> None:
    html = client.get(f"/stories/{story.pk}/").content.decode()

    assert '<th scope="row" class="claim-text">' in html
    assert 'aria-label="Not reported"' not in html
    assert 'scope="rowgroup"' not in html
