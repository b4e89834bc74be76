"""Issue 19, intake: a page cannot take another outlet's article's place by naming its URL canonical."""

from __future__ import annotations

from sources.articles import article_discover, article_fetch
from sources.models import Article, Outlet
from tests.conftest import LocalServer, Route, outlet_make
from tests.test_feeds import PARAGRAPHS, article_page

HTML = {"Content-Type": "text/html; charset=utf-8"}


def test_a_canonical_url_on_another_outlet_s_site_is_ignored(local_server: LocalServer, db: None) -> None:
    hostile = outlet_make("Hostile", domain="hostile.example")
    victim = outlet_make("Victim Daily", domain="victim.example")
    local_server.routes["/p/copy"] = Route(
        body=article_page(title="Copied", body=f"<p>{PARAGRAPHS}</p>", canonical="https://victim.example/p/victim"),
        headers=HTML,
    )
    copy, _ = article_discover(outlet=hostile, url=local_server.url("/p/copy"))

    fetched = article_fetch(article_id=copy.pk)
    theirs, created = article_discover(outlet=victim, url="https://victim.example/p/victim", title="The original")

    assert fetched is not None
    assert fetched.canonical_url == local_server.url("/p/copy")
    assert created, "the victim's own article is recorded, not taken for the copy"
    assert theirs.outlet == victim
    assert Article.objects.count() == 2


def test_a_canonical_url_on_the_outlet_s_own_domain_is_kept(local_server: LocalServer, left_outlet: Outlet) -> None:
    local_server.routes["/amp/fare"] = Route(
        body=article_page(
            title="Fare", body=f"<p>{PARAGRAPHS}</p>", canonical="https://www.leftledger.example/2026/11/fare"
        ),
        headers=HTML,
    )
    article, _ = article_discover(outlet=left_outlet, url=local_server.url("/amp/fare"))

    fetched = article_fetch(article_id=article.pk)

    assert fetched is not None
    assert fetched.canonical_url == "https://www.leftledger.example/2026/11/fare"
