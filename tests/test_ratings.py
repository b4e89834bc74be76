"""Outlet ratings: an append-only history whose newest entry is the outlet's current lean; the curators' admin."""

from __future__ import annotations

from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils.html import escape

from sources.models import Article, Factuality, Feed, Lean, Outlet, OutletRating
from sources.ratings import outlet_rating_add
from stories.models import Story
from tests.conftest import FIXTURE_RATED_AT


def test_it_appends_ratings_and_keeps_the_newest_as_the_current_lean(left_outlet: Outlet) -> None:
    outlet_rating_add(
        outlet=left_outlet,
        lean=Lean.LEAN_LEFT,
        factuality=Factuality.HIGH,
        rated_by="Chart v4",
        rated_at=FIXTURE_RATED_AT + timedelta(days=30),
    )
    left_outlet.refresh_from_db()
    assert (left_outlet.lean, left_outlet.factuality, left_outlet.side) == (Lean.LEAN_LEFT, Factuality.HIGH, "left")

    # A rating entered now but dated earlier goes into the history without becoming current.
    outlet_rating_add(outlet=left_outlet, lean=Lean.CENTER, rated_by="Archive", rated_at=date(2020, 1, 1))

    left_outlet.refresh_from_db()
    assert left_outlet.lean == Lean.LEAN_LEFT
    assert [rating.rated_by for rating in left_outlet.ratings.all()] == ["Chart v4", "Test fixture", "Archive"]


def test_it_refuses_to_edit_or_delete_a_rating(left_outlet: Outlet) -> None:
    rating = left_outlet.ratings.get()
    rating.lean = Lean.RIGHT

    with pytest.raises(ValueError, match="append-only"):
        rating.save()
    with pytest.raises(ValueError, match="cannot be deleted"):
        rating.delete()

    assert OutletRating.objects.get(pk=rating.pk).lean == Lean.LEFT


# --- The admin ----------------------------------------------------------------


@pytest.fixture
def curator(db: None, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_superuser("curator", "curator@newsroom.example", "correct horse")


@pytest.fixture
def curator_client(client: Client, curator: User) -> Client:
    client.force_login(curator)
    return client


class FormReader(HTMLParser):
    """The fields a browser would submit from a page's main form, with their current values."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        name = attributes.get("name", "")
        if tag == "input" and name and attributes.get("type") not in ("submit", "button", "checkbox", "file"):
            self.data[name] = attributes.get("value", "")
        elif tag == "input" and name and attributes.get("type") == "checkbox" and "checked" in attributes:
            self.data[name] = "on"
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attributes:
            self.data[self._select] = attributes.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data


def form_data(html: str) -> dict[str, str]:
    reader = FormReader()
    reader.feed(html)
    return reader.data


def test_it_lists_outlets_with_their_lean_in_the_admin(
    curator_client: Client, left_outlet: Outlet, right_outlet: Outlet, unrated_outlet: Outlet
) -> None:
    response = curator_client.get("/admin/sources/outlet/")

    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Left Ledger", "Right Record", "Unrated Roundup"):
        assert name in html
    assert "Lean right" in html


def test_it_appends_a_rating_entered_through_the_outlet_form(
    curator_client: Client, curator: User, right_outlet: Outlet
) -> None:
    url = f"/admin/sources/outlet/{right_outlet.pk}/change/"
    page = curator_client.get(url)
    assert page.status_code == 200
    data = form_data(page.content.decode())
    # The blank row under the existing rating, as a curator would fill it in.
    assert data["ratings-TOTAL_FORMS"] == "2"
    data.update(
        {
            "ratings-1-lean": Lean.RIGHT,
            "ratings-1-factuality": Factuality.MIXED,
            "ratings-1-rated_by": "Internal review 2026-12",
            "ratings-1-rated_at": (FIXTURE_RATED_AT + timedelta(days=30)).isoformat(),  # newer than the fixture's
            "ratings-1-note": "Opinion pages moved right.",
            "_save": "Save",
        }
    )

    response = curator_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    right_outlet.refresh_from_db()
    assert (right_outlet.lean, right_outlet.factuality) == (Lean.RIGHT, Factuality.MIXED)
    newest, oldest = right_outlet.ratings.all()
    assert (newest.lean, newest.rated_by, newest.entered_by) == (Lean.RIGHT, "Internal review 2026-12", curator)
    assert newest.note == "Opinion pages moved right."
    assert (oldest.lean, oldest.rated_by) == (Lean.LEAN_RIGHT, "Test fixture")
    # The outlet's admin history says a rating was added.
    history = curator_client.get(f"/admin/sources/outlet/{right_outlet.pk}/history/").content.decode()
    assert "Added outlet rating" in history


def test_it_does_not_append_a_rating_when_the_blank_row_is_left_empty(
    curator_client: Client, right_outlet: Outlet
) -> None:
    url = f"/admin/sources/outlet/{right_outlet.pk}/change/"
    data = form_data(curator_client.get(url).content.decode())
    data.update({"owner": "Record Holdings", "_save": "Save"})

    response = curator_client.post(url, data)

    assert response.status_code == 302
    right_outlet.refresh_from_db()
    assert right_outlet.owner == "Record Holdings"
    assert right_outlet.ratings.count() == 1


def test_it_loads_the_admin_lists_of_feeds_and_articles(curator_client: Client, story: Story) -> None:
    Feed.objects.create(outlet=Outlet.objects.get(name="Left Ledger"), url="https://leftledger.example/rss")

    feeds = curator_client.get("/admin/sources/feed/")
    articles = curator_client.get("/admin/sources/article/")
    ratings = curator_client.get("/admin/sources/outletrating/")

    assert feeds.status_code == articles.status_code == ratings.status_code == 200
    assert "https://leftledger.example/rss" in feeds.content.decode()
    for article in Article.objects.all():
        assert escape(article.title) in articles.content.decode()
    assert "Test fixture" in ratings.content.decode()


def test_it_loads_the_admin_list_of_stories(curator_client: Client, story: Story) -> None:
    response = curator_client.get("/admin/stories/story/")
    detail = curator_client.get(f"/admin/stories/story/{story.pk}/change/")

    assert response.status_code == 200
    assert escape(story.title) in response.content.decode()
    assert detail.status_code == 200


def test_it_keeps_the_admin_away_from_readers(client: Client, left_outlet: Outlet) -> None:
    response = client.get("/admin/sources/outlet/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_it_shows_the_history_with_its_provenance_read_only(curator_client: Client, left_outlet: Outlet) -> None:
    outlet_rating_add(
        outlet=left_outlet, lean=Lean.LEAN_LEFT, score=-0.45, rated_by="Chart v5", note="Desk review", scheme="US"
    )

    html = curator_client.get(f"/admin/sources/outlet/{left_outlet.pk}/change/").content.decode()

    for text in ("Chart v5", "-0.45", "Desk review", "Test fixture", "latest"):
        assert text in html
    # Existing rows have no inputs; the blank row starts on the outlet's own scheme.
    assert 'name="ratings-0-rated_by"' not in html
    assert 'name="ratings-2-scheme"' in html
    assert 'name="ratings-2-scheme" value="US"' in html


def test_it_recomputes_the_lean_when_a_curator_moves_an_outlet_to_another_scheme(
    curator_client: Client, left_outlet: Outlet
) -> None:
    outlet_rating_add(outlet=left_outlet, scheme="UK", lean=Lean.CENTER, rated_by="UK chart", rated_at=date(2020, 1, 1))
    left_outlet.refresh_from_db()
    assert left_outlet.lean == Lean.LEFT  # a UK rating does not count for a US outlet
    url = f"/admin/sources/outlet/{left_outlet.pk}/change/"
    data = form_data(curator_client.get(url).content.decode())
    data.update({"scheme": "UK", "_save": "Save"})

    response = curator_client.post(url, data)

    assert response.status_code == 302
    left_outlet.refresh_from_db()
    assert (left_outlet.scheme, left_outlet.lean) == ("UK", Lean.CENTER)
    assert left_outlet.ratings.count() == 2


def test_it_keeps_the_changelog_read_only_in_the_admin(curator_client: Client, left_outlet: Outlet) -> None:
    change = left_outlet.rating_changes.get()

    listing = curator_client.get("/admin/sources/ratingchange/")
    detail = curator_client.get(f"/admin/sources/ratingchange/{change.pk}/change/")

    assert listing.status_code == 200
    assert "Left Ledger" in listing.content.decode()
    assert 'name="lean_after"' not in detail.content.decode()
    assert curator_client.get("/admin/sources/ratingchange/add/").status_code == 403
