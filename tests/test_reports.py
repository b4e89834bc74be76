"""Readers' "report an issue" on generated content, and the curators' moderation queue in the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from stories import reports
from stories.models import ContentReport, ReportEvent, Story


@pytest.fixture
def curator(db: None) -> User:
    user = User.objects.create_user("curator", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_contentreport", "change_contentreport"]))
    return user


@pytest.fixture
def curator_client(client: Client, curator: User) -> Client:
    client.force_login(curator)
    return client


def report_make(story: Story, **fields: str) -> ContentReport:
    return reports.content_report_create(
        story=story,
        target=fields.get("target", ContentReport.Target.OVERVIEW),
        reason=fields.get("reason", ContentReport.Reason.NOT_IN_ARTICLES),
        quoted_text=fields.get("quoted_text", "The transit board raised the fare to $2.75."),
    )


# --- Readers ---------------------------------------------------------------------------------


def test_the_story_page_links_a_report_form_from_each_generated_section(client: Client, story: Story) -> None:
    html = client.get(f"/stories/{story.pk}/").content.decode()

    for target in ("overview", "left", "center", "right", "claims"):
        assert f'href="/stories/{story.pk}/report/?target={target}" rel="nofollow">Report an issue' in html


def test_it_shows_the_form_with_the_part_of_the_page_chosen(client: Client, story: Story) -> None:
    response = client.get(f"/stories/{story.pk}/report/?target=right")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="right" selected>Right viewpoint</option>' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_it_stores_a_report_with_its_audit_trail_and_thanks_the_reader(client: Client, story: Story) -> None:
    response = client.post(
        f"/stories/{story.pk}/report/",
        {
            "target": "left",
            "reason": "misattributed",
            "quoted_text": "Low-income riders will pay the most.",
            "message": "This sentence is cited to the wrong article.",
            "reporter_email": "reader@example.org",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/stories/{story.pk}/report/thanks/"
    assert "Your report is in the curators' queue." in client.get(response["Location"]).content.decode()
    report = ContentReport.objects.get()
    assert (report.story, report.story_title, report.target, report.reason, report.status) == (
        story,
        story.title,
        "left",
        "misattributed",
        "open",
    )
    assert report.quoted_text == "Low-income riders will pay the most."
    assert report.reporter_email == "reader@example.org"
    assert list(report.events.values_list("action", "actor")) == [("created", None)]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"target": "overview"}, "This field is required."),
        ({"target": "sidebar", "reason": "other", "message": "x"}, "Select a valid choice. sidebar is not one"),
        ({"target": "overview", "reason": "other"}, "Tell us what is wrong when you choose “Other”."),
        ({"target": "overview", "reason": "offensive", "reporter_email": "nope"}, "Enter a valid email address."),
        ({"target": "overview", "reason": "offensive", "message": "x" * 2001}, "Keep it under 2000 characters"),
    ],
)
def test_it_shows_what_is_wrong_with_a_report_and_stores_nothing(
    client: Client, story: Story, data: dict[str, str], error: str
) -> None:
    response = client.post(f"/stories/{story.pk}/report/", data)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Please correct the fields marked below." in html
    assert error in html
    assert not ContentReport.objects.exists()


def test_it_refuses_a_report_without_its_csrf_token(story: Story) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(f"/stories/{story.pk}/report/", {"target": "overview", "reason": "offensive"})

    assert response.status_code == 403
    assert not ContentReport.objects.exists()


def test_it_answers_404_for_a_report_on_an_unknown_story(client: Client, story: Story) -> None:
    assert client.get(f"/stories/{story.pk + 100}/report/").status_code == 404


def test_a_report_outlives_its_story(story: Story) -> None:
    report = report_make(story)

    Story.objects.filter(pk=story.pk).delete()

    report.refresh_from_db()
    assert report.story is None
    assert report.story_title == story.title


# --- Curators ---------------------------------------------------------------------------------


def test_the_queue_shows_open_reports_by_default(curator_client: Client, story: Story) -> None:
    open_report = report_make(story, quoted_text="Still open")
    closed = report_make(story, quoted_text="Already handled")
    reports.content_report_dismiss(report_id=closed.pk, actor=None)

    html = curator_client.get("/admin/stories/contentreport/").content.decode()
    everything = curator_client.get("/admin/stories/contentreport/?status=all").content.decode()

    assert "Still open" in html
    assert "Already handled" not in html
    assert "Already handled" in everything
    assert f"/admin/stories/contentreport/{open_report.pk}/change/" in html


def test_a_curator_resolves_and_dismisses_reports_with_a_note_in_the_audit_trail(
    curator_client: Client, curator: User, story: Story
) -> None:
    first, second = report_make(story), report_make(story, target="right")

    resolved = curator_client.post(
        "/admin/stories/contentreport/",
        {"action": "resolve_selected", "_selected_action": [first.pk], "note": "Overview rebuilt."},
        follow=True,
    )
    curator_client.post(
        "/admin/stories/contentreport/",
        {"action": "dismiss_selected", "_selected_action": [second.pk], "note": "The quote is in article 2."},
    )

    assert "Resolved 1 report(s)." in resolved.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("resolved", "dismissed")
    assert first.closed_at is not None
    trail = list(
        ReportEvent.objects.filter(report__in=[first, second]).values_list("report", "action", "actor", "note")
    )
    assert trail == [
        (first.pk, "created", None, ""),
        (first.pk, "resolved", curator.pk, "Overview rebuilt."),
        (second.pk, "created", None, ""),
        (second.pk, "dismissed", curator.pk, "The quote is in article 2."),
    ]
    history = curator_client.get(f"/admin/stories/contentreport/{second.pk}/change/").content.decode()
    assert "The quote is in article 2." in history
    assert "curator" in history


def test_a_closed_report_is_not_closed_twice(curator_client: Client, curator: User, story: Story) -> None:
    report = report_make(story)
    reports.content_report_resolve(report_id=report.pk, actor=curator, note="Done.")

    response = curator_client.post(
        "/admin/stories/contentreport/?status=all",
        {"action": "dismiss_selected", "_selected_action": [report.pk], "note": "Changed my mind."},
        follow=True,
    )

    assert "Skipped 1 report(s) that were already closed." in response.content.decode()
    report.refresh_from_db()
    assert report.status == "resolved"
    assert report.events.count() == 2
    with pytest.raises(reports.ReportClosedError, match="already resolved"):
        reports.content_report_dismiss(report_id=report.pk, actor=curator)


def test_staff_without_the_change_permission_cannot_close_reports(client: Client, story: Story) -> None:
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_contentreport"))
    client.force_login(viewer)
    report = report_make(story)

    page = client.get("/admin/stories/contentreport/").content.decode()
    client.post("/admin/stories/contentreport/", {"action": "resolve_selected", "_selected_action": [report.pk]})

    assert "resolve_selected" not in page
    report.refresh_from_db()
    assert report.status == "open"


def test_the_audit_trail_is_append_only(story: Story) -> None:
    event = report_make(story).events.get()

    event.note = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_it_limits_how_many_reports_one_address_sends_in_an_hour(client: Client, story: Story, settings: Any) -> None:
    settings.NEWSROOM_REPORTS_PER_HOUR = 2
    data = {"target": "overview", "reason": "offensive"}

    statuses = [client.post(f"/stories/{story.pk}/report/", data).status_code for _ in range(3)]
    other_address = client.post(f"/stories/{story.pk}/report/", data, REMOTE_ADDR="10.0.0.9")

    assert statuses == [302, 302, 429]
    assert other_address.status_code == 302
    assert ContentReport.objects.count() == 3
    limited = client.post(f"/stories/{story.pk}/report/", data)
    assert "You have sent many reports in the last hour." in limited.content.decode()
