"""The public curation pages: the methodology and the changelog of rating changes (no login)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sources import selectors

CHANGELOG_PAGE_SIZE = 50


def methodology(request: HttpRequest) -> HttpResponse:
    return render(request, "sources/methodology.html", selectors.methodology_get())


def ratings_changelog(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.rating_changes(), CHANGELOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "sources/ratings_changelog.html", {"page": page})
