"""The REST API over HTTP: stories with coverage by side, viewpoints, articles and outlets; query counts pinned."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.test import Client

from clustering.services import cluster_assign
from sources.models import Article, Lean, Outlet
from sources.ratings import outlet_rating_add
from stories.models import Story
from stories.services import story_refresh
from tests.conftest import STORY_TIME, analysed_article_make, outlet_make, story_build, unit_vector

QueryCounter = Callable[..., Any]


def more_stories(count: int, outlets: list[Outlet]) -> list[Story]:
    """Further stories, each covered by every given outlet: enough rows for an N+1 query to show."""
    stories = []
    for number in range(count):
        vector = unit_vector(500 + number)
        articles = [
            analysed_article_make(
                outlet=outlet,
                title=f"Story {number} as told by {outlet.name}",
                vector=unit_vector(600 + 10 * number + index, near=vector),
                published_at=STORY_TIME - timedelta(hours=number + 1),
            )
            for index, outlet in enumerate(outlets)
        ]
        stories.append(story_build(articles))
    return stories


def test_it_lists_stories_with_coverage_counts_and_shares(
    client: Client, story: Story, left_outlet: Outlet, unrated_outlet: Outlet
) -> None:
    [one_sided] = more_stories(1, [left_outlet, unrated_outlet])

    response = client.get("/api/v1/stories/")

    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 2
    assert body["next"] is None
    by_id = {item["id"]: item for item in body["results"]}
    assert [item["id"] for item in body["results"]] == [story.pk, one_sided.pk]  # newest first
    assert by_id[story.pk]["title"] == story.title
    assert by_id[story.pk]["url"] == f"/stories/{story.pk}/"
    assert by_id[story.pk]["coverage"] == {
        "left": 1,
        "center": 1,
        "right": 1,
        "unrated": 0,
        "syndicated": 0,
        "shares": {"left": 33.3, "center": 33.3, "right": 33.3},
    }
    assert by_id[one_sided.pk]["coverage"] == {
        "left": 1,
        "center": 0,
        "right": 0,
        "unrated": 1,
        "syndicated": 0,
        "shares": {"left": 100.0, "center": 0.0, "right": 0.0},
    }


def test_it_lists_stories_in_a_fixed_number_of_queries(
    client: Client,
    django_assert_num_queries: QueryCounter,
    story: Story,
    left_outlet: Outlet,
    center_outlet: Outlet,
    right_outlet: Outlet,
) -> None:
    more_stories(4, [left_outlet, center_outlet, right_outlet])

    # The stories' version (the cache key) and one page of stories (cursor pagination counts
    # nothing): the coverage is on the story row.
    with django_assert_num_queries(2):
        response = client.get("/api/v1/stories/")
    with django_assert_num_queries(1):
        again = client.get("/api/v1/stories/")

    assert len(response.json()["results"]) == 5
    assert again.json() == response.json()


def test_it_shows_a_story_with_viewpoints_overview_and_articles(client: Client, story: Story) -> None:
    response = client.get(f"/api/v1/stories/{story.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == story.pk
    assert body["coverage"]["left"] == body["coverage"]["center"] == body["coverage"]["right"] == 1
    viewpoints = {viewpoint["side"]: viewpoint for viewpoint in body["viewpoints"]}
    assert set(viewpoints) == {"left", "center", "right"}
    assert all(viewpoint["is_available"] and viewpoint["unavailable_reason"] == "" for viewpoint in viewpoints.values())
    assert viewpoints["right"]["frames"][0]["frame"] == "Economic"
    article_ids = {article["id"] for article in body["articles"]}
    assert article_ids == set(story.memberships.values_list("article_id", flat=True))
    assert body["overview"]
    assert all(sentence["article"] in article_ids for sentence in body["overview"])
    sides = {article["outlet"]["name"]: article["side"] for article in body["articles"]}
    assert sides == {"Left Ledger": "left", "Center Courier": "center", "Right Record": "right"}
    right_article = next(article for article in body["articles"] if article["side"] == "right")
    assert right_article["outlet"]["lean"] == Lean.LEAN_RIGHT
    snapshot = body["ratings_snapshot"]
    assert snapshot["as_of"]
    assert snapshot["rules"]
    by_outlet = {entry["outlet"]: entry for entry in snapshot["outlets"]}
    right_outlet_id = right_article["outlet"]["id"]
    assert by_outlet[right_outlet_id]["lean"] == Lean.LEAN_RIGHT
    assert by_outlet[right_outlet_id]["rating_id"]


def test_it_explains_an_unavailable_viewpoint(
    client: Client, left_outlet: Outlet, center_outlet: Outlet, story_vector: np.ndarray[Any, Any]
) -> None:
    story = story_build(
        [
            analysed_article_make(outlet=left_outlet, title="Fare hike", vector=unit_vector(2, near=story_vector)),
            analysed_article_make(outlet=center_outlet, title="Fare rises", vector=unit_vector(3, near=story_vector)),
        ]
    )

    body = client.get(f"/api/v1/stories/{story.pk}/").json()

    right = next(viewpoint for viewpoint in body["viewpoints"] if viewpoint["side"] == "right")
    assert right["is_available"] is False
    assert right["unavailable_reason"] == "no_articles"
    assert right["unavailable_explanation"] == "No outlet rated on this side has covered this story."
    assert (right["summary"], right["tone"]) == ([], None)


def test_it_shows_a_story_in_a_fixed_number_of_queries(
    client: Client, django_assert_num_queries: QueryCounter, story: Story, story_vector: np.ndarray[Any, Any]
) -> None:
    # More outlets and articles in the same story must not mean more queries.
    for number in range(4):
        outlet = outlet_make(f"Extra Outlet {number}", Lean.CENTER)
        article = analysed_article_make(
            outlet=outlet, title=f"Extra {number}", vector=unit_vector(70 + number, near=story_vector)
        )
        assert cluster_assign(article_id=article.pk) == story.pk
    story_refresh(story_id=story.pk)

    # The story's version (the cache key), the story, its viewpoints, its articles with outlets and analyses.
    with django_assert_num_queries(4):
        response = client.get(f"/api/v1/stories/{story.pk}/")
    with django_assert_num_queries(1):
        again = client.get(f"/api/v1/stories/{story.pk}/")

    assert len(response.json()["articles"]) == 7
    assert again.json() == response.json()


def test_it_answers_404_for_an_unknown_story(client: Client, story: Story) -> None:
    assert client.get(f"/api/v1/stories/{story.pk + 1000}/").status_code == 404


def test_it_lists_the_articles_of_one_story(
    client: Client, django_assert_num_queries: QueryCounter, story: Story, left_outlet: Outlet, center_outlet: Outlet
) -> None:
    [other] = more_stories(1, [left_outlet, center_outlet])

    # The articles' version (the list's cache key), then one page of articles with their outlets,
    # memberships and analyses, joined: no count, no N+1.
    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/articles/?story={story.pk}")

    assert response.status_code == 200
    results = response.json()["results"]
    assert {article["id"] for article in results} == set(story.memberships.values_list("article_id", flat=True))
    assert all(article["story"] == story.pk for article in results)
    left = next(article for article in results if article["side"] == "left")
    assert left["analysis"]["tone_label"] == "negative"
    assert left["analysis"]["frames"][0]["frame"] == "Fairness_and_equality"
    assert left["outlet"]["name"] == "Left Ledger"
    assert len(client.get("/api/v1/articles/").json()["results"]) == Article.objects.count() == 5
    assert {article["story"] for article in client.get(f"/api/v1/articles/?story={other.pk}").json()["results"]} == {
        other.pk
    }


def test_it_lists_outlets_with_their_current_rating(
    client: Client,
    django_assert_num_queries: QueryCounter,
    left_outlet: Outlet,
    right_outlet: Outlet,
    unrated_outlet: Outlet,
) -> None:
    outlet_rating_add(outlet=right_outlet, lean=Lean.RIGHT, rated_by="Chart v4", rated_at=date(2099, 1, 1))
    for number in range(3):
        outlet_make(f"Zeta Outlet {number}", Lean.CENTER)

    # The outlets' version (the list's cache key), then outlets, their domains, their ratings: not
    # one query per outlet.
    with django_assert_num_queries(4):
        response = client.get("/api/v1/outlets/")

    assert response.status_code == 200
    outlets = {outlet["name"]: outlet for outlet in response.json()["results"]}
    right = outlets["Right Record"]
    assert (right["lean"], right["side"]) == ("right", "right")
    assert right["current_rating"]["rated_by"] == "Chart v4"
    assert right["current_rating"]["rated_at"] == "2099-01-01"
    assert right["domains"] == ["rightrecord.example"]
    assert outlets["Left Ledger"]["current_rating"]["lean"] == "left"
    unrated = outlets["Unrated Roundup"]
    assert (unrated["lean"], unrated["side"], unrated["current_rating"]) == ("", None, None)


def test_it_serves_an_openapi_schema(client: Client, db: None) -> None:
    response = client.get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Newsroom API"
    for path in ("/api/v1/stories/", "/api/v1/stories/{id}/", "/api/v1/articles/", "/api/v1/outlets/"):
        assert path in schema["paths"]
    coverage = schema["components"]["schemas"]["Coverage"]["properties"]
    assert {"left", "center", "right", "unrated", "shares"} <= set(coverage)


def test_the_unversioned_api_root_leads_to_the_current_versions_endpoints(client: Client, db: None) -> None:
    response = client.get("/api/", follow=True)

    assert response.redirect_chain == [("/api/v1/", 302)]
    assert {"stories", "articles", "outlets"} <= set(response.json())


def test_it_serves_the_api_docs_page(client: Client, db: None) -> None:
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "/api/schema/" in html


def test_it_explains_an_articles_frames_and_loaded_language(client: Client, story: Story) -> None:
    article = Article.objects.get(membership__cluster_id=story.pk, title="Fare hike hits riders hardest")
    analysis = article.analysis
    analysis.loaded_sentences = [{"sentence": 1, "words": ["hardest"]}]
    analysis.save(update_fields=["loaded_sentences"])

    response = client.get(f"/api/v1/articles/?story={story.pk}")

    row = next(item for item in response.json()["results"] if item["id"] == article.pk)
    assert row["analysis"]["frames"][0]["frame"] == "Fairness_and_equality"
    assert row["analysis"]["frames"][0]["evidence"] == ["Low-income riders will pay the most."]
    assert row["analysis"]["loaded_language"] == [
        {"sentence": "Low-income riders will pay the most.", "words": ["hardest"], "quoted": False}
    ]


def test_it_gives_a_flagged_headline_first_among_an_articles_loaded_language(client: Client, story: Story) -> None:
    article = Article.objects.get(membership__cluster_id=story.pk, title="Fare hike hits riders hardest")
    analysis = article.analysis
    analysis.loaded_sentences = [
        {"headline": True, "words": ["hardest"]},
        {"sentence": 1, "words": [], "quoted": True},
    ]
    analysis.save(update_fields=["loaded_sentences"])

    response = client.get(f"/api/v1/articles/?story={story.pk}")

    row = next(item for item in response.json()["results"] if item["id"] == article.pk)
    assert row["analysis"]["loaded_language"] == [
        {"sentence": "Fare hike hits riders hardest", "words": ["hardest"], "headline": True, "quoted": False},
        # A source's loaded language the article quotes: said so, never the outlet's own.
        {"sentence": "Low-income riders will pay the most.", "words": [], "quoted": True},
    ]


def test_the_schema_describes_filters_errors_and_authentication(client: Client, db: None) -> None:
    schema = client.get("/api/schema/?format=json").json()

    stories = schema["paths"]["/api/v1/stories/"]["get"]
    parameters = {parameter["name"]: parameter["schema"] for parameter in stories["parameters"]}
    assert {
        "first_published_after",
        "first_published_before",
        "last_published_after",
        "last_published_before",
        "q",
        "blindspot",
        "min_outlets",
        "ordering",
        "cursor",
        "page_size",
    } <= set(parameters)
    assert parameters["blindspot"]["enum"] == ["left", "right"]
    assert "-outlet_count" in parameters["ordering"]["enum"]
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 100}
    articles = {parameter["name"] for parameter in schema["paths"]["/api/v1/articles/"]["get"]["parameters"]}
    assert {"story", "outlet", "side", "language", "published_after", "published_before"} <= articles
    for code in ("400", "401", "403", "404", "429"):
        assert stories["responses"][code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
    detail = schema["paths"]["/api/v1/stories/{id}/"]["get"]["responses"]
    assert "304" in detail
    ratings = schema["paths"]["/api/v1/outlets/{id}/ratings/"]
    assert set(ratings) >= {"get", "post"}
    assert "201" in ratings["post"]["responses"]
    assert schema["components"]["securitySchemes"]["tokenAuth"]["scheme"] == "bearer"
