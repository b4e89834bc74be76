"""Search over HTTP: PostgreSQL full-text search where the database is PostgreSQL, word matching elsewhere.

The suite runs on whichever database DATABASE_URL names; the tests of one backend's behaviour
skip on the other (run with DATABASE_URL=postgres://... for the PostgreSQL ones).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sources.articles import article_discover
from sources.models import Article, Outlet
from stories.models import Story
from tests.conftest import STORY_TIME

QueryCounter = Callable[..., Any]

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL full-text search: set DATABASE_URL=postgres://..."
)
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="the fallback for databases without it")


def story_results(html: str) -> list[str]:
    section = html.split('id="story-results"')[1].split("</section>")[0]
    return re.findall(r'<li><a href="/stories/\d+/">([^<]+)</a>', section)


def article_results(html: str) -> list[str]:
    section = html.split('id="article-results"')[1].split("</section>")[0]
    return re.findall(r'<a href="https?://[^"]+" rel="noopener nofollow">([^<]+)</a>', section)


def articles_make(outlet: Outlet, number: int, word: str) -> None:
    for index in range(number):
        article_discover(
            outlet=outlet,
            url=f"https://{outlet.domains.first()}/{word}/{index}",
            title=f"{word.title()} report {index}",
            text=f"The {word} authority met again on day {index}.",
            published_at=STORY_TIME + timedelta(minutes=index),
            language="en",
        )


def test_it_finds_stories_and_articles_containing_the_words(client: Client, story: Story) -> None:
    response = client.get("/search/?q=fare")

    html = response.content.decode()
    assert response.status_code == 200
    assert story_results(html) == [story.title.replace("'", "&#x27;")]
    assert sorted(article_results(html)) == [
        "Fare hike hits riders hardest",
        "Transit agency&#x27;s spending forces fare rise",
        "Transit board raises fare to $2.75",
    ]
    assert 'value="fare"' in html


def test_it_needs_every_word(client: Client, story: Story) -> None:
    html = client.get("/search/?q=fare+taxpayers").content.decode()

    assert article_results(html) == ["Transit agency&#x27;s spending forces fare rise"]


def test_it_says_so_when_nothing_matches(client: Client, story: Story) -> None:
    html = client.get("/search/?q=zebra").content.decode()

    assert "No story matches “zebra”." in html
    assert "No article matches “zebra”." in html


def test_it_pages_through_the_articles(client: Client, left_outlet: Outlet) -> None:
    articles_make(left_outlet, 25, "harbour")

    first = client.get("/search/?q=harbour").content.decode()
    second = client.get("/search/?q=harbour&page=2").content.decode()

    assert len(article_results(first)) == 20
    assert len(article_results(second)) == 5
    assert set(article_results(first)).isdisjoint(article_results(second))
    assert 'href="?q=harbour&amp;page=2" rel="next"' in first
    assert "Page 2 of 2" in second


@on_postgresql
def test_it_ranks_only_the_newest_matches_of_a_common_word(
    client: Client, left_outlet: Outlet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stories.browse.SEARCH_ARTICLES_RANKED", 3)
    articles_make(left_outlet, 5, "harbour")

    html = client.get("/search/?q=harbour").content.decode()

    # The three newest (published on days 4, 3 and 2), and a note that there are more.
    assert sorted(article_results(html)) == ["Harbour report 2", "Harbour report 3", "Harbour report 4"]
    assert "Many articles match: these are the newest 3" in html


def test_it_shows_the_form_without_searching_for_an_empty_query(
    client: Client, django_assert_num_queries: QueryCounter, story: Story
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/search/?q=++")

    assert response.status_code == 200
    assert "Search story titles and summaries" in response.content.decode()


def test_it_refuses_a_query_that_is_too_long(client: Client, story: Story) -> None:
    response = client.get("/search/", {"q": "fare " * 50})

    assert response.status_code == 400
    assert "Search for at most 200 characters; yours has 249." in response.content.decode()


def test_it_searches_in_a_fixed_number_of_queries(
    client: Client, django_assert_num_queries: QueryCounter, story: Story, left_outlet: Outlet
) -> None:
    # The version of the articles and the stories (the kept page's key), then the stories, the
    # articles' count for the pager, the ids of the page's articles in their order, and those
    # articles with their outlets and stories.
    with django_assert_num_queries(5):
        client.get("/search/?q=fare")
    articles_make(left_outlet, 12, "fare")

    with django_assert_num_queries(5):
        response = client.get("/search/?q=fare")

    assert len(article_results(response.content.decode())) == 15


def test_a_search_asked_again_is_served_from_the_kept_page_until_an_article_arrives(
    client: Client, django_assert_num_queries: QueryCounter, story: Story, left_outlet: Outlet
) -> None:
    first = client.get("/search/?q=fare").content.decode()

    with django_assert_num_queries(1):  # the version only
        again = client.get("/search/?q=fare").content.decode()
    assert again == first
    for other in ("/search/?q=fare&page=2", "/search/?q=fare+hike"):  # each page, and each wording, its own
        with CaptureQueriesContext(connection) as searched:
            client.get(other)
        assert len(searched) > 2

    articles_make(left_outlet, 1, "fare")
    assert "Fare report 0" in article_results(client.get("/search/?q=fare").content.decode())
    refreshed = story.refreshed_at + timedelta(minutes=1)
    Story.objects.filter(pk=story.pk).update(title="Fare rises to $2.75", refreshed_at=refreshed)
    assert story_results(client.get("/search/?q=fare").content.decode()) == ["Fare rises to $2.75"]


@on_sqlite
def test_it_matches_words_inside_longer_words_without_full_text_search(client: Client, story: Story) -> None:
    html = client.get("/search/?q=overspend").content.decode()

    assert "containing every word, newest first" in html
    assert article_results(html) == ["Transit agency&#x27;s spending forces fare rise"]


@on_postgresql
def test_it_matches_other_forms_of_a_word_with_full_text_search(client: Client, story: Story) -> None:
    html = client.get("/search/?q=raising+fares").content.decode()

    assert "Full-text search, title matches first" in html
    # "raising fares" stems to the lexemes of "raised the fare" and "raises fare".
    assert sorted(article_results(html)) == [
        "Fare hike hits riders hardest",
        "Transit agency&#x27;s spending forces fare rise",
        "Transit board raises fare to $2.75",
    ]


@on_postgresql
def test_it_understands_web_search_syntax_and_ranks_title_matches_first(
    client: Client, story: Story, left_outlet: Outlet
) -> None:
    without = client.get("/search/", {"q": "fare -taxpayers"}).content.decode()
    assert "Transit agency&#x27;s spending forces fare rise" not in article_results(without)
    assert len(article_results(without)) == 2

    article_discover(
        outlet=left_outlet,
        url="https://leftledger.example/riders",
        title="Riders speak at the board meeting",
        text="One rider asked about the fare. " + "The meeting ran long. " * 20,
        published_at=STORY_TIME + timedelta(days=2),
        language="en",
    )
    ranked = article_results(client.get("/search/?q=riders").content.decode())
    assert ranked[0] == "Riders speak at the board meeting"
    assert "Fare hike hits riders hardest" in ranked


@on_postgresql
def test_the_full_text_match_can_use_its_gin_indexes(story: Story) -> None:
    with connection.cursor() as cursor:
        # The tables are tiny: leave the planner only bitmap scans, which is how a GIN index is read,
        # so it shows whether the match can use the index (otherwise it may walk another index instead).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plans = {}
        for table in ("sources_article", "stories_story"):
            cursor.execute(
                f"EXPLAIN SELECT id FROM {table} WHERE search_document @@ websearch_to_tsquery('english', %s)",
                ["fare"],
            )
            plans[table] = " ".join(row[0] for row in cursor.fetchall())

    assert "stories_article_document_idx" in plans["sources_article"]
    assert "stories_story_document_idx" in plans["stories_story"]


@on_postgresql
def test_an_edited_article_or_story_is_found_by_its_new_words(client: Client, story: Story) -> None:
    # The stored documents are generated columns: PostgreSQL rebuilds them on every UPDATE.
    Article.objects.filter(title="Fare hike hits riders hardest").update(title="Commuters brace for pricier tickets")
    Story.objects.filter(pk=story.pk).update(title="Pricier tickets from March")

    html = client.get("/search/?q=pricier+tickets").content.decode()

    assert article_results(html) == ["Commuters brace for pricier tickets"]
    assert story_results(html) == ["Pricier tickets from March"]
