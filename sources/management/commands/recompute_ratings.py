from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sources.ratings import lean_policy, outlets_effective_rating_recompute


class Command(BaseCommand):
    help = (
        "Apply the rating policy in force (NEWSROOM_LEAN_POLICY) to every outlet again, after it changed; "
        "moved leans are logged in the changelog and their stories' coverage is recomputed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        moved = outlets_effective_rating_recompute()
        self.stdout.write(f"Policy {lean_policy()}: {len(moved)} outlet(s) changed lean.")
