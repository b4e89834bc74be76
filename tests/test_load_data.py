"""The synthetic data set of the load benchmark (lab/bench/pages.py), and the cache key of the story page."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.http import Http404
from django.test import Client

from sources.models import Outlet, OutletRating
from stories import selectors
from stories.models import Story, StoryQuestion


def test_the_load_data_fills_what_the_reader_pages_show(client: Client, db: None) -> None:
    call_command("generate_load_data", articles=120, stories=12, big_story=30, outlets=12, verbosity=0)

    big = Story.objects.order_by("pk").first()
    assert big is not None
    assert big.article_count == 30
    assert big.claims
    assert all(claim["quotes"] for claim in big.claims)
    assert set(big.ratings_snapshot) == {str(pk) for pk in big.memberships.values_list("article__outlet", flat=True)}
    assert OutletRating.objects.count() == Outlet.objects.exclude(lean="").count() == 10
    html = client.get(f"/stories/{big.pk}/").content.decode()
    assert 'class="claims-table"' in html
    assert 'class="faq faq-readers"' in html
    assert "How this page was made" in html
    assert "<mark>slammed</mark>" in html
    assert 'class="story-card"' in client.get("/blindspot/").content.decode()
    assert client.get("/outlets/load-outlet-0/").status_code == 200
    # Its sentences carry the encoder's vectors, so Ask answers about it as on real data (lab/bench/ask.py).
    answer = client.post(f"/api/v1/stories/{big.pk}/ask/", {"question": "What did the critics say?"}).json()
    assert answer["is_supported"]
    assert answer["quotes"][0]["text"] == "Critics slammed the plan as reckless."


def test_the_story_page_version_changes_with_the_faq_it_shows(story: Story) -> None:
    before = selectors.story_page_version(story_id=story.pk)
    question = StoryQuestion.objects.create(story=story, question="When?", normalised="when", count=1)
    StoryQuestion.objects.create(story=story, question="Why?", normalised="why", count=5)  # never supported

    assert selectors.story_page_version(story_id=story.pk) == before
    StoryQuestion.objects.filter(pk=question.pk).update(count=3, is_supported=True)
    assert selectors.story_page_version(story_id=story.pk) == before  # not approved by a curator
    StoryQuestion.objects.filter(pk=question.pk).update(review=StoryQuestion.Review.APPROVED)
    assert selectors.story_page_version(story_id=story.pk) == f"{before}{question.pk}"
    with pytest.raises(Http404):
        selectors.story_page_version(story_id=story.pk + 1000)


def test_a_story_id_too_long_for_the_database_is_a_404(client: Client, story: Story) -> None:
    assert client.get(f"/stories/{2**64}/").status_code == 404
