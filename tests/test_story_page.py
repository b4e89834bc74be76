"""The story page's sections: viewpoints, the claims table, the article filter and the timeline; query counts."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.test.utils import override_settings
from django.utils.html import escape

from analysis.models import ArticleAnalysis
from sources.models import Article, Lean, Outlet
from sources.ratings import outlet_rating_add
from stories.models import Story, StoryViewpoint
from stories.services import story_refresh
from stories.templatetags.stories import quoted
from stories.timeline import timeline_build
from tests.conftest import STORY_TIME, analysed_article_make, outlet_make, story_build, unit_vector

QueryCounter = Callable[..., Any]


def section(html: str, css_class: str) -> str:
    match = re.search(rf'<section class="{css_class}".*?</section>', html, re.DOTALL)
    assert match, f"no {css_class} section"
    return match.group(0)


def sentences_set(article: Article, vectors: list[np.ndarray[Any, Any]]) -> None:
    """Give an article's sentences chosen vectors, so which sentences state the same fact is known."""
    ArticleAnalysis.objects.filter(article=article).update(
        sentence_embeddings=np.vstack(vectors).astype(np.float16).tobytes()
    )


@pytest.fixture
def claims_story(
    left_outlet: Outlet, center_outlet: Outlet, right_outlet: Outlet, story_vector: np.ndarray[Any, Any]
) -> Story:
    """Three facts: the vote (all sides), the riders' cost (left and right), the overspending (the right only)."""
    vote, cost, overspending, filler = (unit_vector(seed, near=story_vector, noise=1.5) for seed in (11, 12, 13, 14))
    second_right = outlet_make("Second Right", Lean.RIGHT)
    rows = [
        (
            left_outlet,
            "Left on fares",
            ["The board voted to raise the fare.", "Riders will pay $240 more."],
            [vote, cost],
        ),
        (center_outlet, "Center on fares", ["The board approved a higher fare.", "It starts soon."], [vote, filler]),
        (
            right_outlet,
            "Right on fares",
            ["Board votes fare rise.", "Commuters face $240 a year.", "Years of overspending."],
            [vote, cost, overspending],
        ),
        (second_right, "Right again on fares", ["The agency overspent for years."], [overspending]),
    ]
    articles = []
    for hours, (outlet, title, sentences, vectors) in enumerate(rows):
        article = analysed_article_make(
            outlet=outlet,
            title=title,
            vector=unit_vector(20 + hours, near=story_vector),
            published_at=STORY_TIME + timedelta(hours=hours),
            sentences=sentences,
        )
        sentences_set(article, vectors)
        articles.append(article)
    return story_build(articles)


def test_it_groups_the_same_fact_across_sides_all_sides_first(claims_story: Story) -> None:
    claims = claims_story.claims
    articles = dict(Article.objects.values_list("title", "pk"))

    sides = [{side: ids for side, ids in claim["sides"].items() if ids} for claim in claims]
    assert sides[:3] == [
        {
            "left": [articles["Left on fares"]],
            "center": [articles["Center on fares"]],
            "right": [articles["Right on fares"]],
        },
        {"left": [articles["Left on fares"]], "right": [articles["Right on fares"]]},
        {"right": sorted([articles["Right on fares"], articles["Right again on fares"]])},
    ]
    assert claims[1]["text"] in {"Riders will pay $240 more.", "Commuters face $240 a year."}


def test_it_shows_the_claims_table_with_each_side_s_citations(client: Client, claims_story: Story) -> None:
    html = client.get(f"/stories/{claims_story.pk}/").content.decode()

    table = section(html, "claims")
    groups = re.findall(r'<tr class="claims-group"><td colspan="4">([^<]+)</td>', table)
    assert groups[:3] == ["Reported by all sides", "Reported by two sides", "Reported by one side"]
    first_row = re.search(r'<tr class="claim claim-all">(.*?)</tr>', table, re.DOTALL)
    assert first_row
    numbers = {
        title: number
        for number, title in enumerate(
            Article.objects.order_by("published_at", "pk").values_list("title", flat=True), start=1
        )
    }
    for title in ("Left on fares", "Center on fares", "Right on fares"):
        pk = Article.objects.get(title=title).pk
        assert f'href="#article-{pk}"' in first_row.group(1)
        assert f"[{numbers[title]}]</a>" in first_row.group(1)
        assert f'id="article-{pk}"' in html
    two_sides = re.search(r'<tr class="claim claim-some">(.*?)</tr>', table, re.DOTALL)
    assert two_sides
    assert two_sides.group(1).count('class="absent"') == 1


@override_settings(NEWSROOM_VIEWPOINT_MIN_ARTICLES=2)
def test_it_says_a_side_with_too_few_articles_has_no_analysis_but_lists_them(client: Client, story: Story) -> None:
    story_refresh(story_id=story.pk)

    html = client.get(f"/stories/{story.pk}/").content.decode()

    for side, title in (
        ("left", "Fare hike hits riders hardest"),
        ("right", "Transit agency's spending forces fare rise"),
    ):
        column = re.search(rf'<section class="side side-{side}".*?</section>', html, re.DOTALL)
        assert column
        assert "Analysis unavailable for this viewpoint" in column.group(0)
        assert "Too few articles on this side to say anything about its coverage." in column.group(0)
        assert "What it reported" not in column.group(0)
        assert escape(title) in column.group(0).split('<ul class="side-articles">')[1]
    assert StoryViewpoint.objects.get(story=story, side="left").unavailable_reason == "too_few"


def test_it_analyses_every_covered_side_by_default(story: Story) -> None:
    viewpoints = StoryViewpoint.objects.filter(story=story)

    assert {viewpoint.side: viewpoint.is_available for viewpoint in viewpoints} == {
        "left": True,
        "center": True,
        "right": True,
    }
    assert all(viewpoint.summary for viewpoint in viewpoints)


def test_it_filters_the_articles_by_side_keeping_their_numbers(client: Client, story: Story) -> None:
    everything = section(client.get(f"/stories/{story.pk}/").content.decode(), "all-articles")
    right = section(client.get(f"/stories/{story.pk}/?side=right").content.decode(), "all-articles")
    bogus = section(client.get(f"/stories/{story.pk}/?side=<script>").content.decode(), "all-articles")

    assert re.findall(r'<li id="article-\d+" value="(\d+)" data-side="(\w+)"', everything) == [
        ("1", "left"),
        ("2", "center"),
        ("3", "right"),
    ]
    assert re.findall(r'<li id="article-\d+" value="(\d+)" data-side="(\w+)"', right) == [("3", "right")]
    assert "Showing 1 of 3 articles." in right
    assert f'<a href="/stories/{story.pk}/?side=right#articles" aria-current="true">Right 1</a>' in right
    assert bogus == everything


def test_it_draws_the_timeline_with_when_each_side_first_covered_it(client: Client, story: Story) -> None:
    html = client.get(f"/stories/{story.pk}/").content.decode()

    timeline = section(html, "timeline")
    assert 'role="img"' in timeline
    assert '<title id="timeline-title">Articles over time by side</title>' in timeline
    assert len(re.findall(r'<polyline class="line line-(\w+)"', timeline)) == 3
    rows = re.findall(r'<tr class="line-row-(\w+)">.*?<td>(\d+)</td><td>(.*?)</td></tr>', timeline)
    assert [(side, count) for side, count, _first in rows] == [("left", "1"), ("center", "1"), ("right", "1")]
    assert "18 Nov 2026, 09:00" in rows[0][2]
    assert "18 Nov 2026, 14:00" in rows[2][2]


def test_it_builds_timeline_geometry_by_side() -> None:
    points = [
        (STORY_TIME, "left"),
        (STORY_TIME + timedelta(hours=1), "left"),
        (STORY_TIME + timedelta(hours=4), "right"),
        (STORY_TIME + timedelta(hours=2), None),
    ]

    timeline = timeline_build(points)

    left, center, right = timeline.lines
    assert (left.count, center.count, right.count) == (2, 0, 1)
    assert left.first_at == STORY_TIME
    assert center.first_at is None
    # Left starts at the plot's left edge and climbs to the top (the most articles of any side),
    # drawn 3 pixels above the center's line (and 6 above the right's) so equal counts do not hide each other.
    assert left.points.startswith(f"{timeline.plot_left:g},{timeline.plot_bottom - 3:g}")
    assert left.points.endswith(f"{timeline.plot_right:g},{timeline.plot_top - 3:g}")
    assert right.first_x == timeline.plot_right
    assert [tick.anchor for tick in timeline.x_ticks] == ["start", "middle", "middle", "middle", "end"]
    assert [tick.is_minor for tick in timeline.x_ticks] == [False, True, False, True, False]
    # Every count is labelled on a short axis, not only 0 and the most.
    assert [tick.label for tick in timeline.y_ticks] == ["0", "1", "2"]
    many = timeline_build([(STORY_TIME + timedelta(minutes=minute), "left") for minute in range(17)])
    assert [tick.label for tick in many.y_ticks] == ["0", "5", "10", "17"]
    assert center.points == ""
    assert "Left 2; Center 0; Right 1" in timeline.description
    assert timeline_build([]).is_empty


@pytest.mark.parametrize("count", [3, 30])
def test_it_shows_a_story_page_in_the_same_queries_whatever_its_size(
    client: Client,
    django_assert_num_queries: QueryCounter,
    left_outlet: Outlet,
    center_outlet: Outlet,
    right_outlet: Outlet,
    story_vector: np.ndarray[Any, Any],
    count: int,
) -> None:
    outlets = [left_outlet, center_outlet, right_outlet]
    story = story_build(
        [
            analysed_article_make(
                outlet=outlets[number % 3],
                title=f"Fare story part {number}",
                vector=unit_vector(200 + number, near=story_vector, noise=0.05),
                published_at=STORY_TIME + timedelta(minutes=number),
                sentences=[f"Fact {number} about the fare.", "The board voted."],
                frames=[{"frame": "Economic", "score": 0.5, "sentences": [0]}],
            )
            for number in range(count)
        ]
    )

    # The version with the FAQ's ids, the story, its viewpoints, its articles with outlets and
    # analyses, the FAQ.
    with django_assert_num_queries(5):
        response = client.get(f"/stories/{story.pk}/")
    # From the cache: the version with the FAQ's ids (part of the key), in one query.
    with django_assert_num_queries(1):
        again = client.get(f"/stories/{story.pk}/")

    assert response.content.decode().count('<li id="article-') == count
    assert again.content == response.content


def test_its_columns_place_each_article_where_the_coverage_bar_counts_it(
    client: Client, story: Story, right_outlet: Outlet
) -> None:
    # A new rating not yet recomputed (its task runs on commit): the page stays with the snapshot.
    outlet_rating_add(outlet=right_outlet, lean=Lean.LEFT, rated_by="Internal review")

    html = client.get(f"/stories/{story.pk}/").content.decode()

    assert "1 left · 1 center · 1 right" in html
    right = section(html, "side side-right")
    assert '<span class="count">1</span>' in right
    assert escape("Transit agency's spending forces fare rise") in right
    assert f'<a href="/stories/{story.pk}/?side=right#articles">Right 1</a>' in html
    assert re.findall(r'<li id="article-\d+" value="\d+" data-side="(\w+)"', html) == ["left", "center", "right"]
    rows = re.findall(r'<tr class="line-row-(\w+)">.*?<td>(\d+)</td>', section(html, "timeline"))
    assert rows == [("left", "1"), ("center", "1"), ("right", "1")]


# --- The optional generated overview ------------------------------------------------

PARAPHRASES = {
    "The transit board raised the fare to $2.75.": "The transit board increased the fare to $2.75.",
    "Low-income riders will pay the most.": "Riders with low incomes will pay the most.",
    "The transit board voted 5-2 to raise the fare to $2.75.": (
        "The transit board voted 5-2 to increase the fare to $2.75."
    ),
    "The increase takes effect in January.": "The increase will take effect in January.",
    "The board raised the fare to $2.75 after years of overspending.": (
        "After years of overspending, the board raised the fare to $2.75."
    ),
    "Taxpayers are tired.": "Taxpayers are tired of it.",
}


@pytest.fixture
def generation_server() -> Iterator[dict[str, Any]]:
    """An OpenAI-compatible chat completions endpoint on 127.0.0.1 answering with canned rewrites:
    each source sentence of the request rewritten as PARAPHRASES says, plus ``extra`` if set."""
    state: dict[str, Any] = {"extra": "", "status": 200, "requests": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["requests"].append((self.path, self.headers.get("Authorization"), body))
            sources = [line.split(". ", 1)[1] for line in body["messages"][1]["content"].splitlines()]
            content = " ".join(PARAPHRASES[source] for source in sources) + state["extra"]
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_it_keeps_a_generated_overview_whose_every_sentence_matches_a_cited_source(
    client: Client, story: Story, generation_server: dict[str, Any]
) -> None:
    extractive = story.overview

    with override_settings(NEWSROOM_GENERATION_URL=generation_server["url"], NEWSROOM_GENERATION_API_KEY="k"):
        story_refresh(story_id=story.pk)

    story.refresh_from_db()
    path, authorization, _body = generation_server["requests"][0]
    assert (path, authorization) == ("/v1/chat/completions", "Bearer k")
    assert [sentence["text"] for sentence in story.overview] == [
        PARAPHRASES[sentence["text"]] for sentence in extractive
    ]
    assert [sentence["citations"] for sentence in story.overview] == [sentence["citations"] for sentence in extractive]
    assert all(sentence["is_generated"] for sentence in story.overview)
    html = client.get(f"/stories/{story.pk}/").content.decode()
    assert escape(PARAPHRASES[extractive[0]["text"]]) in section(html, "overview")
    assert "(rewritten)" in section(html, "overview")


@pytest.mark.parametrize(
    ("extra", "status", "logged"),
    [
        (" The mayor resigned in protest and the city will sue the state.", 200, "1 sentence(s) match no source"),
        ("", 500, "Overview generation failed"),
    ],
)
def test_it_keeps_the_extractive_overview_when_generation_adds_a_claim_or_fails(
    story: Story,
    generation_server: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    extra: str,
    status: int,
    logged: str,
) -> None:
    extractive = story.overview
    generation_server.update(extra=extra, status=status)

    with override_settings(NEWSROOM_GENERATION_URL=generation_server["url"]):
        story_refresh(story_id=story.pk)

    story.refresh_from_db()
    assert generation_server["requests"]
    assert story.overview == extractive
    assert logged in caplog.text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("The board voted 4-3.", "“The board voted 4-3.”"),
        ('"Our kids can\'t explain it," said Craig Dunlop.', "“{o}Our kids can't explain it,{c} said Craig Dunlop.”"),
        ("He called it “a painful blow” to the town.", "“He called it {o}a painful blow{c} to the town.”"),
        ('"It continues into the next sentence', "“{o}It continues into the next sentence”"),
    ],
)
def test_a_quoted_sentence_turns_its_own_double_quotes_single(text: str, shown: str) -> None:
    assert quoted(text) == shown.format(o="\u2018", c="\u2019")


def test_the_summary_under_the_title_is_not_the_overview_s_first_sentence_again(client: Client, story: Story) -> None:
    """The summary is the title article's lead; when the overview just below quotes it (with its
    citations), the header does not say it a second time."""
    first = story.overview[0]["text"]
    # A new refresh time: the cached page is keyed on it.
    Story.objects.filter(pk=story.pk).update(summary=first, refreshed_at=STORY_TIME + timedelta(days=1))

    html = client.get(f"/stories/{story.pk}/").content.decode()

    header = re.search(r'<header class="story-header">.*?</header>', html, re.DOTALL)
    assert header
    assert 'class="summary"' not in header.group(0)
    assert first in section(html, "overview")

    Story.objects.filter(pk=story.pk).update(
        summary="A summary the overview does not quote.", refreshed_at=STORY_TIME + timedelta(days=2)
    )
    html = client.get(f"/stories/{story.pk}/").content.decode()
    assert '<p class="summary">A summary the overview does not quote.</p>' in html


def test_the_faq_names_who_is_involved_in_the_overview_s_or_a_claim_s_words_before_one_side_s() -> None:
    """ "Who is involved?" quotes the first sentence naming each actor: the overview's and the claims'
    (worded for neutrality) come before a side's own representative sentences."""
    from types import SimpleNamespace

    from stories.faq import _sentences

    overview = [SimpleNamespace(text="The board voted.", article_id=1, cited_article_ids=(2,), is_generated=False)]
    column = SimpleNamespace(
        viewpoint=SimpleNamespace(summary=[SimpleNamespace(text="Greedy Mayor Lyle gouges riders.", article_id=3)])
    )
    claims = [
        SimpleNamespace(text="Mayor Lyle backed the rise.", article_id=2, articles_by_side={"left": [3], "right": [2]})
    ]

    texts = [text for text, _ in _sentences(overview, [column], claims)]  # type: ignore[arg-type]

    assert texts == ["The board voted.", "Mayor Lyle backed the rise.", "Greedy Mayor Lyle gouges riders."]


def test_who_is_involved_names_people_bodies_and_groups_not_places(client: Client, story: Story) -> None:
    """The demo's hurricane story answered "Who is involved?" with Port Alder, Calder and "Category 2"; the
    plant story's columns listed "Mexico" and "Millbrook" as actors."""
    from stories.selectors import story_page_build

    # The refresh keeps each actor's label beside its count.
    assert {"text": "Riverton", "count": 1, "label": "GPE"} in story.viewpoints.get(side="left").entities
    StoryViewpoint.objects.filter(story=story, side="left").update(
        entities=[
            {"text": "Riverton", "count": 5, "label": "GPE"},
            {"text": "Transit Board", "count": 3, "label": "ORG"},
            {"text": "Riders Union", "count": 2, "label": "ORG"},
            {"text": "Dana Okafor", "count": 1},  # kept before labels were: listed
        ]
    )
    StoryViewpoint.objects.filter(story=story).exclude(side="left").update(entities=[])
    article = Article.objects.get(title="Fare hike hits riders hardest")
    Story.objects.filter(pk=story.pk).update(
        overview=[
            {"text": "The Transit Board in Riverton met the Riders Union.", "article": article.pk, "citations": []},
            {"text": "Dana Okafor of the Transit Board spoke.", "article": article.pk, "citations": []},
        ]
    )
    story.refresh_from_db()

    page = story_page_build(story)

    [who] = [entry for entry in page.faq if entry.question == "Who is involved?"]
    # An actor whose sentences were all quoted for another shares one: no sentence shows twice.
    assert [(quote.label, quote.text) for quote in who.quotes] == [
        ("Transit Board, Riders Union", "The Transit Board in Riverton met the Riders Union."),
        ("Dana Okafor", "Dana Okafor of the Transit Board spoke."),
    ]
    # The side's column lists the same kind of actors.
    html = client.get(f"/stories/{story.pk}/").content.decode()
    assert '<p class="actors">Actors: Transit Board, Riders Union, Dana Okafor</p>' in html


def test_an_actor_s_kind_is_the_one_the_whole_story_gives_it(story: Story) -> None:
    """The small spaCy model tagged the town of Millbrook a group (NORP) in one side's articles and a place
    in the others': the left's column listed the town among its actors."""
    for article in Article.objects.filter(membership__cluster_id=story.pk).select_related("outlet"):
        tag = "NORP" if article.outlet.lean in (Lean.LEFT, Lean.LEAN_LEFT) else "GPE"
        ArticleAnalysis.objects.filter(article=article).update(
            entities=[
                {"text": "Millbrook", "label": tag, "count": 2},
                {"text": "Dana Okafor", "label": "PERSON", "count": 1},
            ]
        )

    refreshed = story_refresh(story_id=story.pk)

    assert refreshed is not None
    left = refreshed.viewpoints.get(side="left").entities
    assert {"text": "Millbrook", "count": 1, "label": "GPE"} in left
    assert {"text": "Dana Okafor", "count": 1, "label": "PERSON"} in left


def test_a_headline_in_one_side_s_words_is_named_as_that_outlet_s(
    client: Client, story: Story, right_outlet: Outlet
) -> None:
    """The demo's looting story, which only a right outlet covered, was headed by that outlet's headline
    with nothing to say whose words they were."""
    titles = dict(Article.objects.values_list("outlet__name", "title"))
    # The three-sided story is headed by the center's headline: nothing to name.
    assert story.title == titles["Center Courier"]
    html = client.get(f"/stories/{story.pk}/").content.decode()
    assert "title-source" not in html
    assert client.get(f"/api/v1/stories/{story.pk}/").json()["title_source"]["side"] == "center"

    looting = analysed_article_make(
        outlet=right_outlet,
        title="Looters strike as the administration scrambles",
        vector=unit_vector(7),
        published_at=STORY_TIME,
        sentences=["Looters moved in as floodwater filled homes."],
    )
    one_sided = story_build([looting])

    html = client.get(f"/stories/{one_sided.pk}/").content.decode()
    header = re.search(r'<header class="story-header">.*?</header>', html, re.DOTALL)
    assert header
    assert "The headline is" in header.group(0)
    assert f'href="/outlets/{right_outlet.slug}/">Right Record</a>' in header.group(0)
    assert "an outlet on the right" in header.group(0)
    data = client.get(f"/api/v1/stories/{one_sided.pk}/").json()
    assert data["title_source"] == {"article": looting.pk, "outlet": "Right Record", "side": "right"}
    # The lists' cards (the home page's, the blindspot feed's) say so too, for the one-sided story only.
    home = client.get("/").content.decode()
    assert home.count("The headline is Right Record's, an outlet on the right.") == 1
    assert home.count('class="meta title-source"') == 1
    found = client.get("/search/?q=looters").content.decode()
    assert found.count("The headline is Right Record's, an outlet on the right.") == 1
