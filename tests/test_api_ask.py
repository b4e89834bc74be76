"""POST /api/v1/stories/{id}/ask/: the story page's Ask over the API, with the same answers and refusals."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Scope
from accounts.services import api_token_create
from sources.models import Article
from stories.ask import REFUSAL
from stories.models import Story, StoryQuestion
from tests.test_ask import fare_story  # noqa: F401 - the fixture: three sides' sentences, really encoded


def ask(client: Client, story: Story, body: object, **headers: str) -> dict:
    response = client.post(f"/api/v1/stories/{story.pk}/ask/", body, content_type="application/json", **headers)
    return {"status": response.status_code, "body": response.json()}


def test_it_answers_with_quotes_cited_to_the_articles(client: Client, fare_story: Story) -> None:  # noqa: F811
    answer = ask(client, fare_story, {"question": "When does the new fare take effect?"})

    assert answer["status"] == 200
    body = answer["body"]
    assert body["is_supported"] is True
    assert body["refusal_reason"] == ""
    best = body["quotes"][0]
    center = Article.objects.get(title="Fare story (center)")
    assert (best["text"], best["article_id"], best["number"], best["side"]) == (
        "The new fare takes effect on January 4.",
        center.pk,
        2,
        "center",
    )
    assert StoryQuestion.objects.get(story=fare_story).count == 1


def test_it_refuses_what_the_coverage_does_not_answer(client: Client, fare_story: Story) -> None:  # noqa: F811
    answer = ask(client, fare_story, {"question": "What is the recipe for banana bread?"})

    assert answer["status"] == 200
    assert answer["body"] == {
        "question": "What is the recipe for banana bread?",
        "is_supported": False,
        "refusal_reason": REFUSAL,
        "refusal_detail": "",
        "quotes": [],
        "missing_words": ["recipe", "banana", "bread"],
    }


def test_a_refusal_says_what_the_closest_sentences_lack(client: Client, fare_story: Story) -> None:  # noqa: F811
    """The right's sentence on the consultants is on the topic, but no sentence states what they cost."""
    answer = ask(client, fare_story, {"question": "How much did the board spend on consultants?"})

    assert answer["status"] == 200
    assert answer["body"]["is_supported"] is False
    assert answer["body"]["refusal_detail"] == "None of the sentences closest to it states a sum."
    html = client.post(
        f"/stories/{fare_story.pk}/ask/", {"question": "How much did the board spend on consultants?"}
    ).content.decode()
    assert '<p class="note refusal-detail">None of the sentences closest to it states a sum.</p>' in html
    assert "after years of overspending on consultants" in html, "shown apart as what the coverage does say"


def test_a_bad_question_is_a_400_naming_the_field(client: Client, fare_story: Story) -> None:  # noqa: F811
    for body, message in (
        ({"question": "   "}, "This field may not be blank."),
        ({"question": "why " * 100}, "Ensure this field has no more than 300 characters."),
        ({}, "This field is required."),
        ({"question": ["a", "list"]}, "Not a valid string."),
    ):
        answer = ask(client, fare_story, body)

        assert answer["status"] == 400, body
        assert answer["body"]["error"]["code"] == "invalid"
        assert answer["body"]["error"]["fields"]["question"] == [message]
    assert not StoryQuestion.objects.exists()


def test_an_unknown_story_is_a_404_and_get_is_a_405(client: Client, fare_story: Story) -> None:  # noqa: F811
    missing = client.post("/api/v1/stories/999999/ask/", {"question": "When?"}, content_type="application/json")
    get = client.get(f"/api/v1/stories/{fare_story.pk}/ask/")

    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert get.status_code == 405


def test_a_token_must_carry_the_read_scope(client: Client, fare_story: Story) -> None:  # noqa: F811
    user = User.objects.create_user("partner", password="a-long-test-password")
    _token, reading = api_token_create(user=user, name="reads", scopes=[Scope.READ])
    _token, pushing = api_token_create(user=user, name="pushes", scopes=[Scope.ARTICLES_PUSH])
    question = {"question": "When does the new fare take effect?"}

    assert ask(client, fare_story, question, HTTP_AUTHORIZATION=f"Bearer {reading}")["status"] == 200
    refused = ask(client, fare_story, question, HTTP_AUTHORIZATION=f"Bearer {pushing}")
    assert refused["status"] == 403
    assert "read" in refused["body"]["error"]["message"]
