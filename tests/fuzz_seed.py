"""Data for the schema-driven fuzz run (tests/fuzz_api.sh): the test cast, a story, and a curator's token.

Run inside ``manage.py shell``; prints the token's key, which the script sends with every request.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Permission, User

from accounts.models import Scope
from accounts.services import api_token_create
from sources.models import Lean
from tests.conftest import STORY_TIME, analysed_article_make, outlet_make, story_build, unit_vector


def seed() -> str:
    outlets = [
        outlet_make("Left Ledger", Lean.LEFT),
        outlet_make("Center Courier", Lean.CENTER),
        outlet_make("Right Record", Lean.LEAN_RIGHT),
        outlet_make("Unrated Roundup"),
    ]
    for number in range(3):
        vector = unit_vector(10 + number)
        story_build(
            [
                analysed_article_make(
                    outlet=outlet,
                    title=f"Story {number} by {outlet.name}",
                    vector=unit_vector(100 + 10 * number + index, near=vector),
                    published_at=STORY_TIME + timedelta(hours=index - 5 * number),
                    sentences=[f"Story {number} sentence one.", "The council met on Tuesday."],
                    frames=[{"frame": "Economic", "score": 0.5, "sentences": [0]}],
                    tone=-0.2,
                )
                for index, outlet in enumerate(outlets[: 4 - number])
            ]
        )
    curator = User.objects.create_user("fuzz-curator")
    curator.user_permissions.add(Permission.objects.get(codename="add_outletrating"))
    # Reads and ratings, not pushes: a pushed article without text would be fetched from its URL.
    _token, key = api_token_create(user=curator, name="fuzz", scopes=[Scope.READ, Scope.RATINGS_WRITE])
    return key
