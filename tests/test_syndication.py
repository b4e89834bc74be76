"""Wire copies republished by many outlets are linked to their original and counted apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sources import syndication
from sources.articles import article_discover
from sources.models import Article, ArticleFingerprint, Outlet
from tests.conftest import outlet_make

WIRE = (
    "WASHINGTON (Wire) — The Senate voted 52 to 48 on Thursday to approve a bill that would fund the "
    "construction of three new bridges across the Potomac River, sending the measure to the House, where "
    "its fate is uncertain. Supporters said the bridges would ease congestion for hundreds of thousands of "
    "commuters who cross the river each day, while opponents argued the cost, estimated at 4.2 billion "
    "dollars over ten years, was too high at a time of rising federal deficits. The vote largely followed "
    "party lines, with two senators crossing over in each direction. The House is expected to take up the "
    "bill after its autumn recess, and the White House has said the president would sign it."
)
EDITED = WIRE.replace("WASHINGTON (Wire) — ", "").replace(
    "The House is expected", "Local officials welcomed the news on Thursday evening. The House is expected"
)
UNRELATED = (
    "The city library will extend its opening hours on weekends from next month, the council said on "
    "Monday, after a survey found that most residents wanted to visit on Saturday and Sunday afternoons. "
    "The change will cost about two hundred thousand dollars a year, paid for from the culture budget, and "
    "will require hiring four part-time librarians. Branch libraries in the north and east of the city will "
    "also open on Sunday mornings during the school term, when demand for study space is highest."
)
WHEN = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)


def test_the_signatures_of_near_copies_are_close_and_of_unrelated_texts_far() -> None:
    wire, edited, unrelated = (syndication.signature_of(text) for text in (WIRE, EDITED, UNRELATED))
    assert wire is not None
    assert edited is not None
    assert unrelated is not None

    assert syndication.similarity(wire, edited) >= 0.7
    assert syndication.similarity(wire, unrelated) < 0.1
    assert len(set(syndication.band_keys(wire)) & set(syndication.band_keys(edited))) > 0
    assert syndication.signature_of("Too short to tell a copy from a coincidence.") is None


def publish(outlet: Outlet, text: str, *, hours: float = 0, slug: str = "senate-bridges") -> Article:
    article, created = article_discover(
        outlet=outlet,
        url=f"https://{outlet.domains.first()}/{slug}",
        title="Senate passes bridge bill",
        text=text,
        published_at=WHEN + timedelta(hours=hours),
    )
    assert created
    return article


@pytest.fixture
def outlets(left_outlet: Outlet, center_outlet: Outlet, right_outlet: Outlet) -> list[Outlet]:
    return [left_outlet, outlet_make("Left Daily", "left"), outlet_make("Left Weekly", "lean_left"), center_outlet]


def test_it_links_wire_copies_to_their_original_so_they_do_not_inflate_a_side(outlets: list[Outlet]) -> None:
    original = publish(outlets[0], WIRE)
    copies = [
        publish(outlet, EDITED if index % 2 else WIRE, hours=index) for index, outlet in enumerate(outlets[1:], 1)
    ]
    own_reporting = publish(outlets[1], UNRELATED, slug="library")

    assert original.syndicated_from is None
    assert [copy.syndicated_from_id for copy in copies] == [original.pk] * 3
    assert all(copy.syndication_similarity >= 0.7 for copy in copies)
    assert own_reporting.syndicated_from is None
    left_side = Article.objects.filter(outlet__lean__in=["left", "lean_left"])
    assert left_side.count() == 4
    assert left_side.originals().count() == 2, "three left articles, one wire story: the copies count apart"
    assert set(left_side.syndicated().values_list("pk", flat=True)) == {copies[0].pk, copies[1].pk}
    assert set(original.syndicated_copies.values_list("pk", flat=True)) == {copy.pk for copy in copies}


def test_the_earliest_article_is_the_original_whatever_the_order_of_arrival(outlets: list[Outlet]) -> None:
    later = publish(outlets[0], WIRE, hours=5)
    latest = publish(outlets[1], EDITED, hours=6)
    earliest = publish(outlets[2], WIRE, hours=1)

    for article in (later, latest, earliest):
        article.refresh_from_db()
    assert earliest.syndicated_from is None
    assert (later.syndicated_from_id, latest.syndicated_from_id) == (earliest.pk, earliest.pk)


def test_copies_far_apart_in_time_are_not_linked(outlets: list[Outlet]) -> None:
    publish(outlets[0], WIRE)

    assert publish(outlets[1], WIRE, hours=24 * 30).syndicated_from is None


def test_it_fingerprints_once_and_leaves_title_only_articles_alone(outlets: list[Outlet]) -> None:
    original = publish(outlets[0], WIRE)
    copy = publish(outlets[1], WIRE)

    assert syndication.article_syndication_link(article_id=copy.pk) is None  # already done
    copy.refresh_from_db()
    assert copy.syndicated_from_id == original.pk
    title_only, _ = article_discover(outlet=outlets[2], url="https://x.example/brief", title="Brief")
    assert not ArticleFingerprint.objects.filter(article=title_only).exists()
    assert ArticleFingerprint.objects.count() == 2
