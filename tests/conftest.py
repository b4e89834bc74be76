"""The cast: a left, a center and a right outlet, and a story all three cover.

Stories built here use fixed vectors in place of the encoder: the tests that use
them are about pages, the API and services, not about the models. The tests in
test_pipeline.py run the real models end to end.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import time_machine
from django.core.cache import caches

from analysis.models import ArticleAnalysis
from analysis.nlp import same_claim, tone
from clustering import services as clusterer
from clustering.models import Cluster
from sources import compiled, fetching
from sources.articles import article_discover
from sources.models import Article, Feed, Lean, Outlet
from sources.outlets import outlet_create
from sources.ratings import outlet_rating_add
from stories import services as story_services
from stories.ask import _story_as_of, story_answer_kept, story_sentences_kept
from stories.models import Story

DIMENSIONS = 384
STORY_TIME = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
# The day the cast's outlets were rated: a fixed date, so a test that adds a newer or an older
# rating says so in dates, whatever day the suite runs on.
FIXTURE_RATED_AT = date(2026, 11, 1)
# Where the suite's clock stands unless --clock-at (or NEWSROOM_TEST_CLOCK_AT) moves it: after
# every date the fixtures write. Every clock the code reads (time.time, datetime.now, date.today,
# timezone.now) starts here in each test and ticks on, so no outcome depends on today's date or
# the time of day. CI runs the suite a second time with the clock moved more than a year ahead,
# late in the evening, to catch a test that hides such a dependence.
SUITE_NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


def unit_vector(seed: int, *, near: np.ndarray[Any, Any] | None = None, noise: float = 0.1) -> np.ndarray[Any, Any]:
    """A deterministic unit vector; with ``near``, a small perturbation of it (same story)."""
    generator = np.random.default_rng(seed)
    vector = generator.normal(size=DIMENSIONS).astype(np.float32)
    if near is not None:
        vector = near + noise * vector / np.linalg.norm(vector)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def outlet_make(name: str, lean: str = "", domain: str = "") -> Outlet:
    outlet = outlet_create(name=name, domain=domain or f"{name.lower().replace(' ', '')}.example")
    if lean:
        outlet_rating_add(outlet=outlet, lean=lean, rated_by="Test fixture", rated_at=FIXTURE_RATED_AT)
        outlet.refresh_from_db()
    return outlet


def analysed_article_make(
    *,
    outlet: Outlet,
    title: str,
    vector: np.ndarray[Any, Any],
    published_at: datetime = STORY_TIME,
    sentences: list[str] | None = None,
    frames: list[dict[str, Any]] | None = None,
    tone: float = 0.0,
) -> Article:
    """An article that has been through analysis (with the given vector), ready to cluster."""
    sentences = sentences or [f"{title}, the report said on Tuesday."]
    slug = title.lower().replace(" ", "-")[:60]
    article, _created = article_discover(
        outlet=outlet,
        url=f"https://{outlet.domains.first()}/2026/11/{slug}",
        title=title,
        text=" ".join(sentences),
        published_at=published_at,
        language="en",
    )
    matrix = np.vstack([unit_vector(index + 1000, near=vector, noise=0.3) for index in range(len(sentences))])
    ArticleAnalysis.objects.create(
        article=article,
        embedding=vector.astype(np.float32).tobytes(),
        sentences=sentences,
        sentence_embeddings=matrix.astype(np.float16).tobytes(),
        entities=[{"text": "Riverton", "label": "GPE", "count": 2}],
        frames=frames or [],
        tone=tone,
        model_versions={"encoder": "test-vectors"},
    )
    Article.objects.filter(pk=article.pk).update(state=Article.State.ANALYSED)
    article.refresh_from_db()
    return article


def story_row_make(**fields: Any) -> Story:
    """A story page row written directly, on a cluster of its own: for tests of what reads the row only."""
    cluster = Cluster.objects.create(
        first_published_at=fields["first_published_at"],
        last_published_at=fields["last_published_at"],
        article_count=fields.get("article_count", 0),
        confidence=fields.pop("confidence", 1.0),
        entity_counts=fields.pop("entity_counts", {}),
    )
    return Story.objects.create(cluster=cluster, **fields)


def story_build(articles: list[Article]) -> Story:
    story_ids = {clusterer.cluster_assign(article_id=article.pk) for article in articles}
    assert len(story_ids) == 1, f"expected one story, got {story_ids}"
    story = story_services.story_refresh(story_id=story_ids.pop())
    assert story is not None
    return story


# --- The clock ---------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-at",
        default=os.environ.get("NEWSROOM_TEST_CLOCK_AT", ""),
        help="run the suite as if it were this ISO 8601 instant (default: SUITE_NOW in tests/conftest.py); "
        "also NEWSROOM_TEST_CLOCK_AT",
    )


def suite_now(config: pytest.Config) -> datetime:
    value = config.getoption("--clock-at")
    if not value:
        return SUITE_NOW
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise pytest.UsageError(f"--clock-at: {value!r} is not an ISO 8601 date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def pytest_report_header(config: pytest.Config) -> str:
    return f"suite clock: {suite_now(config).isoformat()} (--clock-at moves it)"


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Coordinates]:
    """The suite's clock, started at ``suite_now`` and ticking; a test moves it with ``clock.move_to``
    or ``clock.shift``. A test that starts a worker process (marked ``worker``) keeps the real clock,
    since the worker reads it too; such a test compares only times that both processes wrote."""
    start = datetime.now(UTC) if request.node.get_closest_marker("worker") else suite_now(request.config)
    with time_machine.travel(start, tick=True) as coordinates:
        yield coordinates


@pytest.fixture(autouse=True)
def forget_robots() -> None:
    """robots.txt answers are cached per process: no test sees another's."""
    fetching._robots_cache.clear()


@pytest.fixture
def feed(left_outlet: Outlet, local_server: LocalServer) -> Feed:
    """The left outlet's feed, served by the test's local server at /feed."""
    return Feed.objects.create(outlet=left_outlet, url=local_server.url("/feed"))


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """Rendered pages, Ask's stories and answers, versions and sentence tones are kept per process: no
    test sees another's (SQLite gives a rolled-back row's id again)."""

    def forget() -> None:
        for each in caches.all():
            each.clear()
        story_sentences_kept.cache_clear()
        story_answer_kept.cache_clear()
        _story_as_of.cache_clear()
        compiled._KEPT_VERSIONS.clear()
        tone._KEPT_TONES.clear()

    forget()
    yield
    forget()


@pytest.fixture
def left_outlet(db: None) -> Outlet:
    return outlet_make("Left Ledger", Lean.LEFT)


@pytest.fixture
def center_outlet(db: None) -> Outlet:
    return outlet_make("Center Courier", Lean.CENTER)


@pytest.fixture
def right_outlet(db: None) -> Outlet:
    return outlet_make("Right Record", Lean.LEAN_RIGHT)


@pytest.fixture
def outlets_by_side(left_outlet: Outlet, center_outlet: Outlet, right_outlet: Outlet) -> dict[str, Outlet]:
    return {"left": left_outlet, "center": center_outlet, "right": right_outlet}


@pytest.fixture
def unrated_outlet(db: None) -> Outlet:
    return outlet_make("Unrated Roundup")


@pytest.fixture
def story_vector() -> np.ndarray[Any, Any]:
    return unit_vector(1)


@pytest.fixture
def story(
    left_outlet: Outlet, center_outlet: Outlet, right_outlet: Outlet, story_vector: np.ndarray[Any, Any]
) -> Story:
    """A transit fare story that the left, the center and the right all covered."""
    articles = [
        analysed_article_make(
            outlet=outlet,
            title=title,
            vector=unit_vector(seed, near=story_vector),
            published_at=STORY_TIME + timedelta(hours=hours),
            sentences=sentences,
            frames=frames,
            tone=tone,
        )
        for outlet, title, seed, hours, sentences, frames, tone in [
            (
                left_outlet,
                "Fare hike hits riders hardest",
                2,
                0,
                ["The transit board raised the fare to $2.75.", "Low-income riders will pay the most."],
                [{"frame": "Fairness_and_equality", "score": 0.5, "sentences": [1]}],
                -0.3,
            ),
            (
                center_outlet,
                "Transit board raises fare to $2.75",
                3,
                2,
                ["The transit board voted 5-2 to raise the fare to $2.75.", "The increase takes effect in January."],
                [{"frame": "Economic", "score": 0.5, "sentences": [0]}],
                0.0,
            ),
            (
                right_outlet,
                "Transit agency's spending forces fare rise",
                4,
                5,
                ["The board raised the fare to $2.75 after years of overspending.", "Taxpayers are tired."],
                [{"frame": "Economic", "score": 0.6, "sentences": [0]}],
                -0.5,
            ),
        ]
    ]
    return story_build(articles)


# --- A local HTTP server for feeds and article pages -------------------------------


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class LocalServer:
    """Serves the routes a test sets, on 127.0.0.1; records every request it gets."""

    routes: dict[str, Route | Callable[[BaseHTTPRequestHandler], Route]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server_state = LocalServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            server_state.requests.append((self.path, dict(self.headers)))
            route = server_state.routes.get(self.path)
            if callable(route):
                route = route(self)
            if route is None:
                route = Route(status=404, body=b"not found", headers={"Content-Type": "text/plain"})
            if route.delay:
                threading.Event().wait(route.delay)
            try:
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in route.headers:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server_state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def same_claim_model_of_vectors_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A same-claim model that reads the cosine of the two sentence vectors only: 0.5 at 0.72 (its ``precise``
    threshold), and its ``recall`` threshold at a cosine of 0.6. The number and negation checks stay on."""
    path = tmp_path_factory.mktemp("same_claim") / "same_claim_vectors.npz"
    weights = np.zeros(len(same_claim.FEATURES))
    weights[same_claim.FEATURES.index("cosine")] = 40.0
    meta = {
        "format": same_claim.FORMAT,
        "version": "test-cosine",
        "features": list(same_claim.FEATURES),
        "precise": 0.5,
        "recall": round(1 / (1 + math.exp(-40.0 * (0.6 - 0.72))), 6),
        "checks": True,
    }
    np.savez(path, weights=weights, intercept=np.float64(-40.0 * 0.72), meta=np.array(json.dumps(meta)))
    return path


@pytest.fixture(autouse=True)
def same_claim_model_of_vectors(
    request: pytest.FixtureRequest, settings: Any, same_claim_model_of_vectors_path: Path
) -> None:
    """Fixture sentences carry vectors chosen freely (which sentences state one fact is set by their cosine),
    so stories here decide "the same fact" by the cosine (and the number and negation checks) alone, without
    the cross-encoder (which reads the words). The
    shipped model is tested in ``test_same_claim.py``, and every test marked ``models`` runs with it."""
    if request.node.get_closest_marker("models"):
        return
    settings.NEWSROOM_SAME_CLAIM_MODEL = str(same_claim_model_of_vectors_path)
    settings.NEWSROOM_SAME_CLAIM_CROSS_ENCODER = "off"


@pytest.fixture(autouse=True)
def clustering_model_of_vectors(request: pytest.FixtureRequest, settings: Any) -> None:
    """Fixture articles are vectors with freely chosen titles, so stories here are clustered by a pair
    model that reads vectors only (``fixtures/clustering_model_vectors.json``). The shipped model, which
    also reads the words of titles and leads, is tested in ``test_clustering_terms.py``, and every test
    marked ``models`` (real text through the real models, end to end) runs with it too."""
    if request.node.get_closest_marker("models"):
        return
    settings.NEWSROOM_CLUSTER_MODEL_PATH = str(Path(__file__).with_name("fixtures") / "clustering_model_vectors.json")
