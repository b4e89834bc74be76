"""Issue 19: a curator (staff in the curator group, not a superuser) may do each thing the
documentation promises curators, and a staff member outside the group may not."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from clustering.models import ClusteringEvent, Membership
from sources.models import Feed, Outlet
from stories.models import ContentReport, Story
from tests.conftest import analysed_article_make, story_build, unit_vector
from tests.test_reports import report_make


def staff_client(*, curator: bool) -> Client:
    user = User.objects.create_user("curator" if curator else "other-staff", is_staff=True)
    if curator:
        user.groups.add(Group.objects.get(name="curator"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def curator_client(db: None) -> Client:
    return staff_client(curator=True)


@pytest.fixture
def other_staff_client(db: None) -> Client:
    return staff_client(curator=False)


def other_story(outlet: Outlet) -> Story:
    return story_build([analysed_article_make(outlet=outlet, title="Stadium deal signed", vector=unit_vector(50))])


def test_a_curator_merges_stories(curator_client: Client, story: Story, center_outlet: Outlet) -> None:
    second = other_story(center_outlet)

    response = curator_client.post(
        "/admin/stories/story/",
        {"action": "merge_selected", "_selected_action": [story.pk, second.pk], "story": str(story.pk)},
    )

    assert response.status_code == 302
    assert list(Story.objects.values_list("pk", flat=True)) == [story.pk]


def test_a_curator_pins_splits_and_moves_articles_and_reads_the_log(curator_client: Client, story: Story) -> None:
    first, second = story.memberships.order_by("pk")[:2]

    for action, membership in (("pin_selected", first), ("split_selected", second)):
        response = curator_client.post(
            "/admin/clustering/membership/", {"action": action, "_selected_action": [membership.pk]}
        )
        assert response.status_code == 302, action
    curator_client.post(
        "/admin/clustering/membership/",
        {"action": "move_selected", "_selected_action": [second.pk], "story": str(story.pk)},
    )

    assert Membership.objects.get(pk=first.pk).is_pinned
    assert Membership.objects.get(pk=second.pk).cluster_id == story.pk
    assert list(ClusteringEvent.objects.order_by("pk").values_list("kind", flat=True)) == ["pin", "split", "move"]
    assert curator_client.get("/admin/clustering/clusteringevent/").status_code == 200


def test_a_curator_resolves_a_reader_s_report(curator_client: Client, story: Story) -> None:
    report = report_make(story)

    curator_client.post(
        "/admin/stories/contentreport/", {"action": "resolve_selected", "_selected_action": [report.pk], "note": "ok"}
    )

    assert ContentReport.objects.get(pk=report.pk).status == ContentReport.Status.RESOLVED


def test_a_curator_re_enables_a_feed(curator_client: Client, left_outlet: Outlet) -> None:
    feed = Feed.objects.create(outlet=left_outlet, url="https://leftledger.example/feed", is_active=False)

    curator_client.post("/admin/sources/feed/", {"action": "enable_feeds", "_selected_action": [feed.pk]})

    assert Feed.objects.get(pk=feed.pk).is_active


def test_staff_outside_the_group_can_do_none_of_it(other_staff_client: Client, story: Story) -> None:
    membership = story.memberships.first()
    assert membership is not None

    for path in ("/admin/stories/story/", "/admin/clustering/membership/", "/admin/stories/contentreport/"):
        assert other_staff_client.get(path).status_code == 403, path
    other_staff_client.post(
        "/admin/clustering/membership/", {"action": "pin_selected", "_selected_action": [membership.pk]}
    )
    assert not Membership.objects.get(pk=membership.pk).is_pinned
