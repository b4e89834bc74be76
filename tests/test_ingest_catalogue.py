"""The starter catalogue loads with import_outlets: real outlets across the five leans, attributed."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from sources.models import Feed, Lean, Outlet, OutletRating

CATALOGUE = Path(__file__).resolve().parent.parent / "sources" / "data" / "outlets.jsonl"


def test_the_catalogue_file_names_a_domain_and_a_web_feed_for_every_outlet() -> None:
    rows = [json.loads(line) for line in CATALOGUE.read_text().splitlines() if line.strip()]

    assert len(rows) >= 60
    assert len({row["domain"] for row in rows}) == len(rows)
    for row in rows:
        assert row["feeds"], row["name"]
        assert all(urlsplit(feed).scheme in ("http", "https") and urlsplit(feed).hostname for feed in row["feeds"])


@pytest.mark.django_db
def test_it_loads_with_import_outlets_every_lean_attributed_and_every_feed_unverified() -> None:
    out = StringIO()
    call_command("import_outlets", str(CATALOGUE), stdout=out, stderr=StringIO())

    assert "0 rejected" in out.getvalue()
    assert Outlet.objects.count() >= 60
    assert set(Outlet.objects.values_list("lean", flat=True)) == set(Lean.values)
    for lean in Lean.values:
        assert Outlet.objects.filter(lean=lean).count() >= 5, lean
    assert not OutletRating.objects.filter(rated_by="").exists()
    assert set(OutletRating.objects.values_list("rated_by", "rated_at__year")) == {
        ("AllSides Media Bias Ratings (2021)", 2021)
    }
    assert all("AllSides" in note for note in OutletRating.objects.values_list("note", flat=True))
    assert Feed.objects.count() >= Outlet.objects.count()
    assert not Feed.objects.filter(is_verified=True).exists()
    assert {feed.health for feed in Feed.objects.all()} == {"unverified"}

    ratings = OutletRating.objects.count()
    call_command("import_outlets", str(CATALOGUE), stdout=StringIO(), stderr=StringIO())
    assert OutletRating.objects.count() == ratings, "loading it again adds nothing"
