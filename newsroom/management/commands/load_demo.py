from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_DIR = Path(__file__).resolve().parent.parent.parent / "demo"


class Command(BaseCommand):
    help = (
        "Load the demo corpus: fictional outlets across the five leans and fictional articles forming "
        "several stories (one with no right-leaning coverage), run through the whole pipeline. Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("import_outlets", str(DEMO_DIR / "outlets.jsonl"), stdout=self.stdout, stderr=self.stderr)
        call_command("import_articles", str(DEMO_DIR / "articles.jsonl"), stdout=self.stdout, stderr=self.stderr)
