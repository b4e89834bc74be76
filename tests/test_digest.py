"""The daily digest: double opt-in over HTTP, signed links, and the daily send through Django's mail backend."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core import mail, signing
from django.test import Client

from sources.models import Outlet
from stories import digest, tasks
from stories.models import DigestSubscription, Story
from tests.conftest import STORY_TIME, analysed_article_make, outlet_make, story_build, unit_vector

QueryCounter = Callable[..., Any]
# 23:00 on the day of the fixture's stories: the next day starts an hour later.
SEND_TIME = STORY_TIME + timedelta(hours=14)


def link_in(message: mail.EmailMessage, kind: str) -> str:
    match = re.search(rf"http://testserver(/digest/{kind}/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def subscriber(email: str, status: str = DigestSubscription.Status.CONFIRMED) -> DigestSubscription:
    return DigestSubscription.objects.create(email=email, status=status)


# --- Subscribing -----------------------------------------------------------------------------


def test_it_confirms_a_subscription_only_after_the_link_in_the_mail_is_followed(client: Client, db: None) -> None:
    response = client.post("/digest/", {"email": "Reader@Example.org "})

    assert response.status_code == 302
    assert response["Location"] == "/digest/sent/"
    subscription = DigestSubscription.objects.get()
    assert subscription.email == "reader@example.org"
    assert subscription.status == DigestSubscription.Status.PENDING
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reader@example.org"]
    assert message.subject == "Confirm your Newsroom daily digest"
    confirm = link_in(message, "confirm")
    assert link_in(message, "unsubscribe")
    assert "List-Unsubscribe" in message.extra_headers
    assert "example.org" not in confirm  # links name the subscription's id, signed, not the address

    # A GET (a mail system's link scanner) shows a button and changes nothing.
    page = client.get(confirm)
    assert "Yes, send me the daily digest" in page.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == DigestSubscription.Status.PENDING

    confirmed = client.post(confirm)
    assert "You are subscribed" in confirmed.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == DigestSubscription.Status.CONFIRMED
    assert subscription.confirmed_at is not None


def test_it_sends_no_second_confirmation_soon_after_the_first_nor_to_a_confirmed_reader(
    client: Client, db: None
) -> None:
    client.post("/digest/", {"email": "reader@example.org"})
    client.post("/digest/", {"email": "reader@example.org"})
    assert len(mail.outbox) == 1

    subscriber("already@example.org")
    again = client.post("/digest/", {"email": "already@example.org"})

    assert again["Location"] == "/digest/sent/"  # the same answer: the form tells no one who subscribed
    assert len(mail.outbox) == 1


def test_it_resends_a_confirmation_after_a_while(client: Client, db: None) -> None:
    client.post("/digest/", {"email": "reader@example.org"})
    DigestSubscription.objects.update(confirmation_sent_at=STORY_TIME)

    client.post("/digest/", {"email": "reader@example.org"})

    assert len(mail.outbox) == 2


def test_it_shows_the_error_for_a_bad_address(client: Client, db: None) -> None:
    response = client.post("/digest/", {"email": "not an address"})

    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not DigestSubscription.objects.exists()
    assert not mail.outbox


def test_it_refuses_a_forged_or_expired_confirmation_link(
    client: Client, db: None, clock: time_machine.Coordinates
) -> None:
    pending = subscriber("reader@example.org", DigestSubscription.Status.PENDING)
    forged = signing.dumps(pending.pk, salt="another purpose")
    with time_machine.travel(STORY_TIME - timedelta(days=4), tick=False):
        expired = digest.confirm_token(pending)
    clock.move_to(STORY_TIME)

    for token, reason in [(forged, "not valid"), (expired, "expired")]:
        response = client.post(f"/digest/confirm/{token}/")
        assert response.status_code == 400
        assert f"This link {'has expired' if reason == 'expired' else 'is not valid'}" in response.content.decode()
    assert DigestSubscription.objects.get().status == DigestSubscription.Status.PENDING


def test_it_unsubscribes_with_the_link_even_without_a_csrf_token(db: None) -> None:
    reader = subscriber("reader@example.org")
    client = Client(enforce_csrf_checks=True)
    link = f"/digest/unsubscribe/{digest.unsubscribe_token(reader)}/"

    assert "Unsubscribe from the daily digest" in client.get(link).content.decode()
    response = client.post(link)

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert DigestSubscription.objects.get().status == DigestSubscription.Status.UNSUBSCRIBED
    # An old confirmation link does not subscribe the address again.
    confirm = Client().post(f"/digest/confirm/{digest.confirm_token(reader)}/")
    assert confirm.status_code == 400
    assert DigestSubscription.objects.get().status == DigestSubscription.Status.UNSUBSCRIBED


def test_the_subscribe_form_needs_its_csrf_token(db: None) -> None:
    response = Client(enforce_csrf_checks=True).post("/digest/", {"email": "reader@example.org"})

    assert response.status_code == 403
    assert not DigestSubscription.objects.exists()


# --- Sending -------------------------------------------------------------------------------


@pytest.fixture
def blindspot_story(left_outlet: Outlet) -> Story:
    """A harbour story only left and center outlets covered: a blindspot for the right."""
    centre = unit_vector(500)
    outlets = [left_outlet, outlet_make("Left Lantern", "lean_left"), outlet_make("Center Chronicle", "center")]
    return story_build(
        [
            analysed_article_make(
                outlet=outlet,
                title=f"Harbour dredging plan {index}",
                vector=unit_vector(501 + index, near=centre, noise=0.05),
                published_at=STORY_TIME + timedelta(hours=index),
                sentences=[f"The port will dredge the harbour channel, report {index} said."],
            )
            for index, outlet in enumerate(outlets)
        ]
    )


def test_it_mails_the_days_top_stories_with_coverage_an_overview_sentence_and_blindspots(
    story: Story, blindspot_story: Story
) -> None:
    subscriber("reader@example.org")
    subscriber("pending@example.org", DigestSubscription.Status.PENDING)
    subscriber("gone@example.org", DigestSubscription.Status.UNSUBSCRIBED)
    # As a refresh records a story headed by a left outlet's headline.
    Story.objects.filter(pk=blindspot_story.pk).update(title_outlet="Left Lantern", title_side="left")

    sent = digest.digest_send_daily(now=SEND_TIME)

    assert sent == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reader@example.org"]
    assert message.subject == "Both sides in five minutes: 18 November 2026"
    body = message.body
    assert f"http://testserver/stories/{story.pk}/" in body
    assert f"http://testserver/stories/{blindspot_story.pk}/" in body
    assert "1 left · 1 center · 1 right (left 33%, center 33%, right 33%)" in body
    assert "2 left · 1 center · 0 right (left 67%, center 33%, right 0%)" in body
    assert f"“{story.overview[0]['text']}”" in body
    assert "Blindspot for the right: Of 3 rated articles: 2 left (67%), 1 center (33%), 0 right (0%)." in body
    # A side's headline is named as its outlet's, as on the site; the center's is not.
    assert body.count("(The headline is Left Lantern's, an outlet on the left.)") == 1
    assert body.count("headline is") == 1
    unsubscribe = link_in(message, "unsubscribe")
    assert message.extra_headers["List-Unsubscribe"] == f"<http://testserver{unsubscribe}>"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'<a href="http://testserver{unsubscribe}">Unsubscribe</a>' in html
    assert "The headline is Left Lantern's, an outlet on the left." in html


def test_it_sends_each_reader_one_digest_a_day(story: Story) -> None:
    subscriber("reader@example.org")

    assert digest.digest_send_daily(now=SEND_TIME) == 1
    assert digest.digest_send_daily(now=SEND_TIME + timedelta(minutes=30)) == 0
    assert len(mail.outbox) == 1
    assert digest.digest_send_daily(now=SEND_TIME + timedelta(hours=2)) == 1
    assert len(mail.outbox) == 2


def test_it_sends_nothing_on_a_day_without_stories(story: Story) -> None:
    subscriber("reader@example.org")

    assert digest.digest_send_daily(now=SEND_TIME + timedelta(days=3)) == 0
    assert not mail.outbox
    assert DigestSubscription.objects.get().last_sent_on is None


def test_a_failed_send_is_tried_again_on_the_next_run(story: Story) -> None:
    subscriber("reader@example.org")
    with mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("SMTP down")):
        assert digest.digest_send_daily(now=SEND_TIME) == 0
    assert DigestSubscription.objects.get().last_sent_on is None

    assert digest.digest_send_daily(now=SEND_TIME) == 1


def test_it_builds_the_digest_in_two_queries_whatever_the_number_of_stories(
    django_assert_num_queries: QueryCounter, story: Story, blindspot_story: Story, left_outlet: Outlet
) -> None:
    for number in range(3):
        story_build(
            [
                analysed_article_make(
                    outlet=left_outlet, title=f"Another story {number}", vector=unit_vector(600 + number)
                )
            ]
        )

    with django_assert_num_queries(2):
        built = digest.digest_build(now=SEND_TIME)

    assert len(built.stories) == 5
    assert built.stories[0].story == story  # three outlets: the widest coverage first


def test_celery_beat_sends_the_digest_daily_through_the_task(story: Story, clock: time_machine.Coordinates) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["send-daily-digest"]
    assert entry["task"] == "stories.tasks.digest_send_task"
    assert entry["schedule"].hour == {settings.NEWSROOM_DIGEST_HOUR_UTC}
    assert "poll-due-feeds" in settings.CELERY_BEAT_SCHEDULE
    subscriber("reader@example.org")

    clock.move_to(SEND_TIME)  # the beat entry's hour on the day of the story
    result = tasks.digest_send_task.apply()

    assert result.get() == 1
    assert len(mail.outbox) == 1


def test_it_lists_the_blindspots_that_did_not_make_the_top_stories_apart(
    settings: Any, story: Story, blindspot_story: Story
) -> None:
    settings.NEWSROOM_DIGEST_STORIES = 1
    subscriber("reader@example.org")

    digest.digest_send_daily(now=SEND_TIME)

    body = mail.outbox[0].body
    top, blindspots = body.split("BLINDSPOTS: STORIES ONE SIDE MISSED")
    assert f"/stories/{story.pk}/" in top
    assert f"/stories/{blindspot_story.pk}/" not in top
    assert f"- {blindspot_story.title}" in blindspots
    assert "0 right (0%)" in blindspots
