from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from stories import selectors


def home(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.story_list(), 20).get_page(request.GET.get("page"))
    return render(request, "stories/home.html", {"page": page})


def story_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "stories/story_detail.html", {"page": selectors.story_page_get(story_id=pk)})
