from __future__ import annotations

from django.test import Client

from stories.models import Story


def test_it_shows_the_story_with_three_columns(client: Client, story: Story) -> None:
    response = client.get(story.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Fare hike hits riders hardest" in html
    assert "Analysis unavailable" not in html
