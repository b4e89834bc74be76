"""The daily digest, "both sides in five minutes": double opt-in subscriptions and the daily send.

Links in the mails carry signed tokens (django.core.signing), so confirming and unsubscribing need
no account and no stored secret. The confirmation token expires; the unsubscribe token does not,
so the link in an old digest still works.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from stories.browse import BlindspotReason, blindspot_reason
from stories.models import DigestSubscription, Story
from stories.querysets import BlindspotRule
from stories.selectors import CLUSTERING_COLUMNS

logger = logging.getLogger(__name__)

CONFIRM_SALT = "stories.digest.confirm"
UNSUBSCRIBE_SALT = "stories.digest.unsubscribe"
CONFIRM_MAX_AGE = timedelta(days=3)
# A second subscribe within this time sends no second mail: the form cannot be used to flood an inbox.
CONFIRMATION_RESEND_AFTER = timedelta(minutes=10)
DIGEST_WINDOW = timedelta(hours=24)
DIGEST_BLINDSPOTS = 3


class DigestTokenError(ValueError):
    """A confirmation or unsubscribe link that is broken, forged, expired or no longer applies."""


class DigestMailError(RuntimeError):
    """The confirmation e-mail could not be handed to the mail server; nothing was recorded as sent."""


def absolute_url(path: str) -> str:
    return settings.NEWSROOM_SITE_URL.rstrip("/") + path


def confirm_token(subscription: DigestSubscription) -> str:
    return signing.dumps(subscription.pk, salt=CONFIRM_SALT)


def unsubscribe_token(subscription: DigestSubscription) -> str:
    return signing.dumps(subscription.pk, salt=UNSUBSCRIBE_SALT)


def _subscription_id_of(token: str, *, salt: str, max_age: timedelta | None = None) -> int:
    """The subscription a link was made for. Its id, not its address: URLs end up in logs."""
    try:
        subscription_id = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise DigestTokenError("This link has expired: subscribe again to get a new one.") from error
    except signing.BadSignature as error:
        raise DigestTokenError("This link is not valid: check that it was copied whole.") from error
    if not isinstance(subscription_id, int):
        raise DigestTokenError("This link is not valid: check that it was copied whole.")
    return subscription_id


def unsubscribe_url(subscription: DigestSubscription) -> str:
    return absolute_url(reverse("stories:digest-unsubscribe", kwargs={"token": unsubscribe_token(subscription)}))


def _send(*, subscription: DigestSubscription, subject: str, template: str, context: dict[str, Any]) -> None:
    unsubscribe = unsubscribe_url(subscription)
    context = {**context, "unsubscribe_url": unsubscribe, "site_url": absolute_url("/")}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"stories/email/{template}.txt", context),
        to=[subscription.email],
        # RFC 8058 one-click unsubscribe: mail clients POST to the link, which the view accepts.
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(render_to_string(f"stories/email/{template}.html", context), "text/html")
    message.send()


def digest_subscribe(*, email: str) -> DigestSubscription:
    """Records the address as pending and mails it a confirmation link; idempotent.

    A confirmed address gets no mail, and a pending one at most one mail per
    CONFIRMATION_RESEND_AFTER; the caller shows the same page either way, so the form does not
    tell strangers who is subscribed.
    """
    email = email.strip().lower()
    now = timezone.now()
    with transaction.atomic():
        subscription, _created = DigestSubscription.objects.select_for_update().get_or_create(email=email)
        if subscription.status == DigestSubscription.Status.CONFIRMED:
            return subscription
        recently = subscription.confirmation_sent_at and now - subscription.confirmation_sent_at < (
            CONFIRMATION_RESEND_AFTER
        )
        if subscription.status == DigestSubscription.Status.PENDING and recently:
            return subscription
        previous_status, previous_sent_at = subscription.status, subscription.confirmation_sent_at
        subscription.status = DigestSubscription.Status.PENDING
        subscription.confirmation_sent_at = now
        subscription.save(update_fields=["status", "confirmation_sent_at"])
    confirm = absolute_url(reverse("stories:digest-confirm", kwargs={"token": confirm_token(subscription)}))
    try:
        _send(
            subscription=subscription,
            subject="Confirm your Newsroom daily digest",
            template="digest_confirm",
            context={"confirm_url": confirm, "valid_days": CONFIRM_MAX_AGE.days},
        )
    except (OSError, smtplib.SMTPException) as error:
        # Not sent: undo the mark, so that trying again in a moment sends it instead of waiting out
        # CONFIRMATION_RESEND_AFTER for a mail that never left.
        logger.warning("Confirmation e-mail to subscription %s not sent: %s", subscription.pk, error)
        DigestSubscription.objects.filter(pk=subscription.pk, confirmation_sent_at=now).update(
            status=previous_status, confirmation_sent_at=previous_sent_at
        )
        raise DigestMailError(str(error)) from error
    return subscription


def digest_confirm(*, token: str) -> DigestSubscription:
    """Confirms the subscription the token was issued for. Raises DigestTokenError."""
    subscription_id = _subscription_id_of(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    with transaction.atomic():
        subscription = DigestSubscription.objects.select_for_update().filter(pk=subscription_id).first()
        if subscription is None or subscription.status == DigestSubscription.Status.UNSUBSCRIBED:
            raise DigestTokenError("This link no longer applies: subscribe again to get a new one.")
        if subscription.status == DigestSubscription.Status.PENDING:
            subscription.status = DigestSubscription.Status.CONFIRMED
            subscription.confirmed_at = timezone.now()
            subscription.save(update_fields=["status", "confirmed_at"])
    return subscription


def digest_unsubscribe(*, token: str) -> DigestSubscription:
    """Unsubscribes the subscription the token was issued for (idempotent). Raises DigestTokenError."""
    subscription_id = _subscription_id_of(token, salt=UNSUBSCRIBE_SALT)
    DigestSubscription.objects.filter(pk=subscription_id).exclude(status=DigestSubscription.Status.UNSUBSCRIBED).update(
        status=DigestSubscription.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now()
    )
    subscription = DigestSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        raise DigestTokenError("This link no longer applies: the subscription was removed.")
    return subscription


# --- The digest itself -------------------------------------------------------------------


@dataclass
class DigestStory:
    story: Story
    url: str
    overview: str
    blindspot: BlindspotReason | None


@dataclass
class Digest:
    day: date
    stories: list[DigestStory]
    blindspots: list[DigestStory]

    @property
    def is_empty(self) -> bool:
        return not self.stories


def _digest_story(story: Story, rule: BlindspotRule) -> DigestStory:
    sentences = [sentence.get("text", "") for sentence in story.overview if isinstance(sentence, dict)]
    return DigestStory(
        story=story,
        url=absolute_url(story.get_absolute_url()),
        overview=next((text for text in sentences if text), story.summary),
        blindspot=blindspot_reason(story, rule),
    )


def digest_build(*, now: datetime | None = None) -> Digest:
    """The day's top stories (NEWSROOM_DIGEST_STORIES) and other blindspots: 2 queries."""
    now = now or timezone.now()
    since = now - DIGEST_WINDOW
    rule = BlindspotRule.current()
    todays = (
        Story.objects.listed().with_sides_elsewhere().defer(*CLUSTERING_COLUMNS).filter(last_published_at__gte=since)
    )
    top = list(todays.ranked_top(fresh_since=since)[: settings.NEWSROOM_DIGEST_STORIES])
    blindspots = list(
        todays.blindspots(rule=rule)
        .exclude(pk__in=[story.pk for story in top])
        .order_by("-outlet_count", "-last_published_at", "-pk")[:DIGEST_BLINDSPOTS]
    )
    return Digest(
        day=timezone.localdate(now),
        stories=[_digest_story(story, rule) for story in top],
        blindspots=[_digest_story(story, rule) for story in blindspots],
    )


def digest_send_daily(*, now: datetime | None = None) -> int:
    """Mails today's digest to every confirmed subscriber who has not had it yet; returns how many were sent.

    Each subscriber is claimed with a conditional UPDATE of ``last_sent_on`` before the mail goes
    out, so overlapping runs (a retried task, two beat processes) never send one reader two
    digests in a day. A failed send gives the claim back, so the next run tries that reader again.
    """
    now = now or timezone.now()
    digest = digest_build(now=now)
    if digest.is_empty:
        logger.info("No stories in the last %s: no digest sent", DIGEST_WINDOW)
        return 0
    today = digest.day
    subject = f"Both sides in five minutes: {today:%d %B %Y}"
    due = DigestSubscription.objects.filter(status=DigestSubscription.Status.CONFIRMED).filter(
        Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=today)
    )
    sent = 0
    for subscription in due.only("pk", "email", "last_sent_on").iterator():
        claimed = due.filter(pk=subscription.pk).update(last_sent_on=today)
        if not claimed:
            continue
        try:
            _send(subscription=subscription, subject=subject, template="digest", context={"digest": digest})
        except Exception:
            logger.exception("Digest to subscription %s failed; it will be tried again", subscription.pk)
            DigestSubscription.objects.filter(pk=subscription.pk, last_sent_on=today).update(
                last_sent_on=subscription.last_sent_on
            )
            continue
        sent += 1
    logger.info("Digest of %s sent to %s subscribers", today, sent)
    return sent
