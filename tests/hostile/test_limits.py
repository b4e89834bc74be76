"""Issue 19, abuse and limits: the client address behind trusted proxies only, one reading of it
for the API throttle and the report and subscribe limits, and a subscribe form that cannot be
used to flood inboxes or lose a subscription when the mail server is down."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail
from django.test import Client
from pytest_django.fixtures import Settings

from stories.models import DigestSubscription, Story


@pytest.fixture
def anon_rate(settings: Settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "3/minute", "token": "3/minute"},
    }


def statuses(client: Client, forwarded_for: list[str], **extra: str) -> list[int]:
    return [
        client.get("/api/v1/outlets/", HTTP_X_FORWARDED_FOR=address, **extra).status_code  # type: ignore[arg-type]
        for address in forwarded_for
    ]


def test_a_forged_forwarded_for_does_not_escape_the_throttle(client: Client, db: None, anon_rate: None) -> None:
    rotating = [f"203.0.113.{number}" for number in range(6)]

    assert statuses(client, rotating) == [200, 200, 200, 429, 429, 429]


def test_behind_one_trusted_proxy_each_client_is_counted_on_its_own(
    client: Client, db: None, anon_rate: None, settings: Settings
) -> None:
    settings.NEWSROOM_TRUSTED_PROXIES = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    # The proxy appends the address it saw; whatever the client wrote stands to its left.
    first = statuses(client, ["198.51.100.7"] * 4)
    second = statuses(client, ["10.9.9.9, 198.51.100.8"] * 4, REMOTE_ADDR="10.0.0.2")
    forged = statuses(client, [f"{number}.1.1.1, 198.51.100.7" for number in range(3)])

    assert first == [200, 200, 200, 429]
    assert second == [200, 200, 200, 429], "a client's own X-Forwarded-For entry changes nothing"
    assert forged == [429, 429, 429], "the address the proxy saw is the one counted"


def test_the_report_limit_reads_the_same_address(client: Client, story: Story, settings: Settings) -> None:
    settings.NEWSROOM_REPORTS_PER_HOUR = 2
    form = {"target": "overview", "reason": "not_in_articles", "message": "The overview names the wrong city."}
    rotating = [f"203.0.113.{number}" for number in range(3)]

    codes = [
        client.post(f"/stories/{story.pk}/report/", form, HTTP_X_FORWARDED_FOR=address).status_code
        for address in rotating
    ]

    assert codes == [302, 302, 429]


def test_one_client_cannot_flood_inboxes_through_the_subscribe_form(
    client: Client, db: None, settings: Settings
) -> None:
    settings.NEWSROOM_SUBSCRIBES_PER_HOUR = 5

    codes = [client.post("/digest/", {"email": f"stranger{number}@example.org"}).status_code for number in range(8)]

    assert codes == [302] * 5 + [429] * 3
    assert len(mail.outbox) == 5
    assert "try again later" in client.post("/digest/", {"email": "x@example.org"}).content.decode()


def test_one_address_gets_few_confirmations_whoever_asks(
    client: Client, db: None, settings: Settings, clock: time_machine.Coordinates
) -> None:
    settings.NEWSROOM_CONFIRMATIONS_PER_ADDRESS_PER_DAY = 2
    codes: list[int] = []
    for number in range(5):
        codes.append(
            client.post("/digest/", {"email": "target@example.org"}, REMOTE_ADDR=f"198.51.100.{number}").status_code
        )
        clock.shift(15 * 60)  # past the resend interval each time

    assert codes == [302] * 5, "the page says the same whether or not a mail went"
    assert len(mail.outbox) == 2


def test_with_the_mail_server_down_subscribing_says_so_and_a_retry_sends(
    client: Client, db: None, settings: Settings
) -> None:
    # A real SMTP connection to a port where nothing listens.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2

    response = client.post("/digest/", {"email": "reader@example.org"})

    assert response.status_code == 503
    assert "could not send the confirmation e-mail" in response.content.decode()
    assert DigestSubscription.objects.get().confirmation_sent_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    retry = client.post("/digest/", {"email": "reader@example.org"})

    assert retry.status_code == 302
    assert len(mail.outbox) == 1
