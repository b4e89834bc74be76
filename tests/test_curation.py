"""Curation: the rating policy over several raters, schemes, the curator group, import and export,
the coverage recompute when an effective rating changes, and the public methodology and changelog."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from sources import ratings
from sources.models import Lean, Outlet, OutletRating, RatingChange
from sources.outlets import outlet_create
from sources.ratings import outlet_rating_add, outlets_effective_rating_recompute
from stories.models import Story
from tests.conftest import FIXTURE_RATED_AT, outlet_make
from tests.test_ratings import form_data
from tests.test_worker import worker, worker_log  # noqa: F401 - the fixtures that start a real worker


def ratings_of(outlet: Outlet, *entries: tuple[str, str, date]) -> None:
    for rated_by, lean, rated_at in entries:
        outlet_rating_add(outlet=outlet, lean=lean, rated_by=rated_by, rated_at=rated_at)


# --- The policy -------------------------------------------------------------------


@pytest.fixture
def disputed_outlet(db: None) -> Outlet:
    """Three raters disagree; the newest rating is the outlier."""
    outlet = outlet_make("Disputed Daily")
    ratings_of(
        outlet,
        ("Chart A", Lean.LEAN_LEFT, date(2026, 1, 1)),
        ("Chart B", Lean.CENTER, date(2026, 2, 1)),
        ("Chart A", Lean.LEFT, date(2026, 3, 1)),  # Chart A's newer rating replaces its older one
        ("Chart C", Lean.RIGHT, date(2026, 4, 1)),
    )
    return outlet


def test_it_takes_the_newest_rating_under_the_latest_rule(disputed_outlet: Outlet) -> None:
    disputed_outlet.refresh_from_db()

    assert (disputed_outlet.lean, disputed_outlet.lean_rule) == (Lean.RIGHT, "latest")
    assert disputed_outlet.effective_rating is not None
    assert disputed_outlet.effective_rating.rated_by == "Chart C"
    assert "Chart C" in disputed_outlet.lean_explanation


def test_it_takes_the_median_of_each_raters_newest_rating(settings: SettingsWrapper, disputed_outlet: Outlet) -> None:
    settings.NEWSROOM_LEAN_POLICY = "median"

    outlets_effective_rating_recompute()

    disputed_outlet.refresh_from_db()
    # Chart A: left (-2), Chart B: center (0), Chart C: right (+2): the median is center.
    assert (disputed_outlet.lean, disputed_outlet.lean_rule) == (Lean.CENTER, "median")
    assert disputed_outlet.effective_rating is not None
    assert disputed_outlet.effective_rating.rated_by == "Chart B"
    assert "Median of 3 rater(s)" in disputed_outlet.lean_explanation


def test_it_breaks_an_even_median_toward_the_center() -> None:
    outlet = Outlet(name="Pair", scheme="US")
    history = [
        OutletRating(outlet=outlet, scheme="US", lean=lean, rated_by=rater, rated_at=date(2026, 1, day), pk=day)
        for day, (rater, lean) in enumerate([("A", Lean.RIGHT), ("B", Lean.LEAN_RIGHT)], start=1)
    ]

    effective = ratings.effective_rating_choose(history, scheme="US", policy="median")

    assert effective.lean == Lean.LEAN_RIGHT


def test_it_prefers_the_first_listed_rater_and_falls_back_to_the_newest(
    settings: SettingsWrapper, disputed_outlet: Outlet
) -> None:
    settings.NEWSROOM_LEAN_POLICY = "rater_priority"
    settings.NEWSROOM_LEAN_RATER_PRIORITY = ["Newsroom review", "Chart B"]
    other = outlet_make("Other Outlet", Lean.LEFT)

    outlets_effective_rating_recompute()

    disputed_outlet.refresh_from_db()
    other.refresh_from_db()
    assert (disputed_outlet.lean, disputed_outlet.lean_rule) == (Lean.CENTER, "rater_priority")
    assert "Chart B comes first" in disputed_outlet.lean_explanation
    assert other.lean == Lean.LEFT
    assert "No listed rater" in other.lean_explanation


def test_it_refuses_an_unknown_policy(settings: SettingsWrapper, left_outlet: Outlet) -> None:
    settings.NEWSROOM_LEAN_POLICY = "loudest"

    with pytest.raises(ImproperlyConfigured, match="NEWSROOM_LEAN_POLICY"):
        outlet_rating_add(outlet=left_outlet, lean=Lean.RIGHT, rated_by="Chart")


def test_it_logs_a_policy_change_in_the_changelog(settings: SettingsWrapper, disputed_outlet: Outlet) -> None:
    settings.NEWSROOM_LEAN_POLICY = "median"
    out = StringIO()

    call_command("recompute_ratings", stdout=out)

    assert "1 outlet(s) changed lean" in out.getvalue()
    change = RatingChange.objects.filter(outlet=disputed_outlet).first()
    assert change is not None
    assert (change.rating, change.lean_before, change.lean_after, change.rule) == (None, "right", "center", "median")


# --- Schemes, scores, append-only -------------------------------------------------------


def test_it_never_lets_a_rating_in_another_scheme_set_the_lean(db: None) -> None:
    uk_edition = outlet_create(name="Globe UK", domain="uk.globe.example")
    Outlet.objects.filter(pk=uk_edition.pk).update(scheme="UK")
    uk_edition.refresh_from_db()

    outlet_rating_add(outlet=uk_edition, scheme="US", lean=Lean.LEFT, rated_by="US chart")
    uk_edition.refresh_from_db()
    assert uk_edition.lean == ""
    assert "No rating in the UK scheme" in uk_edition.lean_explanation

    outlet_rating_add(outlet=uk_edition, lean=Lean.LEAN_RIGHT, rated_by="UK chart")  # the outlet's own scheme
    uk_edition.refresh_from_db()
    assert uk_edition.lean == Lean.LEAN_RIGHT
    assert list(uk_edition.ratings.values_list("scheme", flat=True).order_by("pk")) == ["US", "UK"]


def test_it_keeps_a_score_and_refuses_one_off_the_scale(left_outlet: Outlet) -> None:
    rating = outlet_rating_add(outlet=left_outlet, lean=Lean.LEFT, score=-0.8, rated_by="Chart")
    assert OutletRating.objects.get(pk=rating.pk).score == -0.8

    with pytest.raises(ValidationError, match="score"):
        outlet_rating_add(outlet=left_outlet, lean=Lean.LEFT, score=1.5, rated_by="Chart")
    with pytest.raises(ValidationError, match="scheme"):
        outlet_rating_add(outlet=left_outlet, lean=Lean.LEFT, scheme="us", rated_by="Chart")
    assert left_outlet.ratings.count() == 2


def test_it_refuses_bulk_updates_and_deletes_of_ratings(left_outlet: Outlet) -> None:
    with pytest.raises(ValueError, match="append-only"):
        OutletRating.objects.filter(outlet=left_outlet).update(lean=Lean.RIGHT)
    with pytest.raises(ValueError, match="append-only"):
        left_outlet.ratings.all().delete()
    with pytest.raises(ValueError, match="append-only"):
        RatingChange.objects.all().delete()

    assert left_outlet.ratings.get().lean == Lean.LEFT


def test_it_still_deletes_an_outlet_with_its_history(db: None) -> None:
    outlet = outlet_make("Short Lived", Lean.CENTER)

    outlet.delete()

    assert not OutletRating.objects.filter(outlet_id=outlet.pk).exists()
    assert not RatingChange.objects.filter(outlet_id=outlet.pk).exists()


# --- The coverage recompute and the story's snapshot -----------------------------------


def test_it_recomputes_the_stories_of_an_outlet_whose_lean_moved(
    story: Story, right_outlet: Outlet, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    before = story.ratings_snapshot[str(right_outlet.pk)]
    assert (story.left_count, story.right_count) == (1, 1)
    assert before["lean"] == Lean.LEAN_RIGHT
    assert before["rated_by"] == "Test fixture"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rating = outlet_rating_add(outlet=right_outlet, lean=Lean.LEFT, rated_by="Internal review")

    assert len(callbacks) == 1
    story.refresh_from_db()
    assert (story.left_count, story.center_count, story.right_count) == (2, 1, 0)
    assert story.ratings_snapshot[str(right_outlet.pk)] == {
        "lean": "left",
        "rating_id": rating.pk,
        "rated_by": "Internal review",
        "rated_at": rating.rated_at.isoformat(),
        "rule": "latest",
    }
    assert story.ratings_as_of == story.refreshed_at


def test_it_does_not_recompute_when_the_effective_lean_stays(
    story: Story, right_outlet: Outlet, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # Dated before the current rating: in the history, not in force.
        outlet_rating_add(outlet=right_outlet, lean=Lean.LEFT, rated_by="Archive", rated_at=date(2001, 1, 1))

    assert callbacks == []
    assert RatingChange.objects.filter(outlet=right_outlet).first().lean_changed is False  # type: ignore[union-attr]


def test_it_shows_on_the_story_page_which_ratings_coverage_was_computed_with(client: Client, story: Story) -> None:
    html = client.get(f"/stories/{story.pk}/").content.decode()

    made = html.split('id="how-made"')[1]
    assert "Each article counts for the side of its outlet's lean rating as of" in made
    assert "the rule in force (latest) picks one" in made
    assert 'href="/methodology/#ratings-heading"' in made


# --- Import and export ----------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_it_previews_an_import_without_changing_anything(
    tmp_path: Path, left_outlet: Outlet, center_outlet: Outlet
) -> None:
    newer = FIXTURE_RATED_AT + timedelta(days=30)
    path = write(
        tmp_path,
        "ratings.csv",
        "outlet,domain,scheme,lean,score,factuality,rated_by,rated_at,note\n"
        f"Left Ledger,,US,lean_left,-0.4,high,Chart v5,{newer},Moved toward the center\n"
        ",centercourier.example,,center,,,Chart v5,2026-01-01,\n",
    )
    out = StringIO()

    call_command("import_ratings", path, "--dry-run", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "Dry run: nothing was changed."
    assert "Left Ledger [US]: left -> lean_left; 1 rating(s) added, rule latest" in lines
    assert "Center Courier [US]: unchanged (center); 1 rating(s) added, rule latest" in lines
    assert lines[-1] == "would add 2 rating(s); 0 already in the history"
    assert OutletRating.objects.count() == 2
    left_outlet.refresh_from_db()
    assert left_outlet.lean == Lean.LEFT


def test_it_applies_nothing_from_a_file_with_a_bad_line(tmp_path: Path, left_outlet: Outlet) -> None:
    path = write(
        tmp_path,
        "ratings.jsonl",
        "\n".join(
            [
                json.dumps({"outlet": "Left Ledger", "lean": "center", "rated_by": "Chart v5"}),
                json.dumps({"outlet": "Nobody Times", "lean": "center", "rated_by": "Chart v5"}),
                json.dumps({"outlet": "Left Ledger", "lean": "far_left", "rated_by": "Chart v5"}),
                "{not json",
                json.dumps({"outlet": "Left Ledger", "lean": "left", "score": 3, "rated_by": "Chart v5"}),
                json.dumps({"outlet": "Left Ledger", "lean": "left", "rated_by": ""}),
            ]
        ),
    )
    err = StringIO()

    with pytest.raises(CommandError, match="5 bad line"):
        call_command("import_ratings", path, stderr=err)

    messages = err.getvalue()
    assert "line 2: no outlet with domain '' or name 'Nobody Times'" in messages
    assert "line 3: 'lean' must be one of" in messages
    assert "line 4: not valid JSON" in messages
    assert "line 5: 'score' must be a number between -1 and 1" in messages
    assert "line 6: 'rated_by' (the rater or method) is required" in messages
    assert "line 1" not in messages
    assert left_outlet.ratings.count() == 1  # line 1 was good, and still nothing was applied


def test_it_imports_and_exports_ratings_round_trip(
    tmp_path: Path, left_outlet: Outlet, right_outlet: Outlet, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    path = write(
        tmp_path,
        "ratings.jsonl",
        json.dumps(
            {
                "domain": "www.rightrecord.example",
                "scheme": "us",
                "lean": "right",
                "score": 0.9,
                "factuality": "mixed",
                "rated_by": "Chart v5",
                "rated_at": "2099-01-01",
                "note": "Opinion desk",
            }
        )
        + "\n",
    )
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("import_ratings", path, stdout=out)

    assert "Right Record [US]: lean_right -> right" in out.getvalue()
    assert len(callbacks) == 1  # the coverage recompute, queued for after the commit
    right_outlet.refresh_from_db()
    assert (right_outlet.lean, right_outlet.factuality) == (Lean.RIGHT, "mixed")
    assert right_outlet.effective_rating is not None
    assert right_outlet.effective_rating.score == 0.9

    for fmt in ("csv", "jsonl"):
        exported = tmp_path / f"export.{fmt}"
        call_command("export_ratings", "--format", fmt, str(exported), stderr=StringIO())
        text = exported.read_text(encoding="utf-8")
        assert text.count("\n") == (4 if fmt == "csv" else 3)
        assert "Opinion desk" in text

        again = StringIO()
        call_command("import_ratings", str(exported), stdout=again)
        assert again.getvalue().splitlines()[-1] == "added 0 rating(s); 3 already in the history"
    assert OutletRating.objects.count() == 3


def test_it_exports_to_standard_output(left_outlet: Outlet, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("export_ratings")

    record = json.loads(capsys.readouterr().out)
    assert (record["outlet"], record["domain"], record["lean"], record["scheme"]) == (
        "Left Ledger",
        "leftledger.example",
        "left",
        "US",
    )


# --- The curator group and the admin ------------------------------------------------------------


@pytest.fixture
def staff(db: None, django_user_model: type[User]) -> User:
    """Staff who may edit outlets but is not a curator."""
    user = django_user_model.objects.create_user("staff", "staff@newsroom.example", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="sources", codename__in=["view_outlet", "change_outlet", "view_outletrating"]
        )
    )
    return user


@pytest.fixture
def curator_user(db: None, django_user_model: type[User]) -> User:
    user = django_user_model.objects.create_user("curator", "curator@newsroom.example", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="curator"))
    return user


def test_it_creates_the_curator_group_with_the_rating_permissions(db: None) -> None:
    codenames = set(Group.objects.get(name="curator").permissions.values_list("codename", flat=True))

    assert {"add_outletrating", "view_outletrating", "change_outlet", "view_ratingchange"} <= codenames
    assert "delete_outletrating" not in codenames
    assert "change_outletrating" not in codenames


def inline_rating(client: Client, outlet: Outlet) -> dict[str, str]:
    url = f"/admin/sources/outlet/{outlet.pk}/change/"
    data = form_data(client.get(url).content.decode())
    data.update(
        {
            "ratings-TOTAL_FORMS": "2",
            "ratings-1-scheme": "US",
            "ratings-1-lean": Lean.CENTER,
            "ratings-1-rated_by": "Internal review",
            "ratings-1-rated_at": "2099-01-01",
            "_save": "Save",
        }
    )
    return data


def test_it_refuses_ratings_from_staff_outside_the_curator_group(
    client: Client, staff: User, right_outlet: Outlet
) -> None:
    client.force_login(staff)
    url = f"/admin/sources/outlet/{right_outlet.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert form_data(page.content.decode())["ratings-TOTAL_FORMS"] == "1"  # no blank row to add one

    response = client.post(url, inline_rating(client, right_outlet))

    assert response.status_code in (302, 403)
    assert right_outlet.ratings.count() == 1
    assert client.get("/admin/sources/outletrating/add/").status_code == 403
    assert client.get("/admin/sources/outletrating/import/").status_code == 403


def test_it_lets_a_curator_add_a_rating_as_a_new_row(client: Client, curator_user: User, right_outlet: Outlet) -> None:
    client.force_login(curator_user)
    url = f"/admin/sources/outlet/{right_outlet.pk}/change/"

    response = client.post(url, inline_rating(client, right_outlet))

    assert response.status_code == 302, response.content.decode()[:2000]
    right_outlet.refresh_from_db()
    assert right_outlet.lean == Lean.CENTER
    newest = right_outlet.ratings.first()
    assert newest is not None
    assert (newest.rated_by, newest.entered_by) == ("Internal review", curator_user)
    # The history is shown read-only: the old rating has no editable lean field.
    html = client.get(url).content.decode()
    assert 'name="ratings-0-lean"' not in html
    assert 'name="ratings-1-lean"' not in html
    assert 'name="ratings-2-lean"' in html  # the blank row for the next one
    assert client.get("/admin/sources/outletrating/add/").status_code == 200


def test_it_previews_then_imports_a_file_in_the_admin(client: Client, curator_user: User, left_outlet: Outlet) -> None:
    client.force_login(curator_user)
    content = b"outlet,lean,rated_by\nLeft Ledger,center,Chart v5\n"

    def post(button: str) -> str:
        upload = StringIO(content.decode())
        upload.name = "ratings.csv"
        response = client.post("/admin/sources/outletrating/import/", {"file": upload, "format": "", button: "1"})
        assert response.status_code == 200
        return response.content.decode()

    preview = post("_preview")
    assert "Left Ledger [US]: left -&gt; center" in preview
    assert left_outlet.ratings.count() == 1

    post("_apply")
    left_outlet.refresh_from_db()
    assert left_outlet.lean == Lean.CENTER
    assert left_outlet.ratings.first().entered_by == curator_user  # type: ignore[union-attr]


# --- The public pages -----------------------------------------------------------------------------


def test_it_explains_the_methodology_to_anyone(
    client: Client, django_assert_num_queries: Callable[..., Any], left_outlet: Outlet, settings: SettingsWrapper
) -> None:
    settings.NEWSROOM_LEAN_POLICY = "median"
    uk = outlet_make("Globe UK")
    Outlet.objects.filter(pk=uk.pk).update(scheme="UK")

    # The schemes in use with their outlet counts: one query whatever the number of outlets.
    with django_assert_num_queries(1):
        response = client.get("/methodology/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<strong class="rule">median</strong>' in html
    for text in ("Lean left", "Lean right", "<td>UK</td>", "blindspot", "all-MiniLM-L6-v2", "rater_priority"):
        assert text in html


def test_it_lists_rating_changes_newest_first_in_a_fixed_number_of_queries(
    client: Client, django_assert_num_queries: Callable[..., Any], left_outlet: Outlet, center_outlet: Outlet
) -> None:
    outlet_rating_add(
        outlet=left_outlet, lean=Lean.LEAN_LEFT, rated_by="Chart v5", note="Softer <em>tone</em>", score=-0.5
    )
    for number in range(3):
        outlet_make(f"Extra {number}", Lean.RIGHT)

    # The count for the pager and the page of changes with their outlets and ratings.
    with django_assert_num_queries(2):
        response = client.get("/ratings/changelog/")

    html = response.content.decode()
    assert response.status_code == 200
    rows = html.split("<tbody>")[1].split("<tr>")[1:]
    assert len(rows) == 6
    assert "Left Ledger" in rows[3]
    assert "Chart v5" in rows[3]
    assert "Left → <strong>Lean left</strong>" in rows[3]
    assert "Softer &lt;em&gt;tone&lt;/em&gt;" in rows[3]
    assert "score -0.50" in rows[3]
    assert "Unrated → <strong>Right</strong>" in rows[0]


def test_it_paginates_the_changelog(client: Client, db: None) -> None:
    for number in range(51):
        outlet_make(f"Outlet {number}", Lean.CENTER)

    first = client.get("/ratings/changelog/").content.decode()
    second = client.get("/ratings/changelog/?page=2").content.decode()

    assert first.split("<tbody>")[1].count("<tr>") == 50
    assert "Outlet 50" in first
    assert 'href="?page=2"' in first
    assert second.split("<tbody>")[1].count("<tr>") == 1
    assert "Outlet 0 " in second


def test_it_links_the_methodology_from_every_page(client: Client, db: None) -> None:
    assert 'href="/methodology/">Methodology</a>' in client.get("/").content.decode()


# --- Through a real worker ------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not django_settings.CELERY_BROKER_URL, reason="needs a broker: set CELERY_BROKER_URL")
@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="the worker process must open the test database: set DATABASE_URL to PostgreSQL",
)
def test_it_recomputes_coverage_on_a_worker_after_a_rating_change(
    story: Story,
    right_outlet: Outlet,
    worker: subprocess.Popen[bytes],  # noqa: F811 - the fixture imported above
    worker_log: Path,  # noqa: F811
) -> None:
    refreshed_at = story.refreshed_at

    # Committed at once (no test transaction): the hook queues the recompute for the worker.
    outlet_rating_add(outlet=right_outlet, lean=Lean.CENTER, rated_by="Internal review")

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker exited"
        story.refresh_from_db()
        if story.refreshed_at != refreshed_at:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the worker did not recompute the story: {worker_log.read_text()[-2000:]}")
    assert (story.left_count, story.center_count, story.right_count) == (1, 2, 0)
    assert story.ratings_snapshot[str(right_outlet.pk)]["rated_by"] == "Internal review"
    log = worker_log.read_text()
    for task in ("stories_refresh_for_outlets_task", "story_refresh_task"):
        assert re.search(rf"{task}\[[^\]]+\] succeeded", log), f"{task} did not run on the worker"


def test_it_reports_an_unreadable_or_empty_file(tmp_path: Path, left_outlet: Outlet) -> None:
    huge = write(tmp_path, "huge.csv", 'outlet,lean,rated_by,note\nLeft Ledger,center,Chart,"' + "x" * 200_000 + '"\n')
    empty = write(tmp_path, "empty.jsonl", "\n")

    for path, message in [(huge, "line 2: not valid CSV (field larger than field limit"), (empty, "no ratings")]:
        err = StringIO()
        with pytest.raises(CommandError, match="nothing was imported"):
            call_command("import_ratings", path, stderr=err)
        assert message in err.getvalue()
    assert left_outlet.ratings.count() == 1
