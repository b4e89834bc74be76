from __future__ import annotations

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from stories import selectors

# A cached page is keyed on the story's version, so it is never stale after a refresh;
# the time limit only bounds how long outlet details (names, badges) may lag a change.
STORY_PAGE_SECONDS = 600


def home(request: HttpRequest) -> HttpResponse:
    number = request.GET.get("page", "1")
    key = f"home:{number[:10]}:{selectors.stories_version()}"
    html = cache.get(key)
    if html is None:
        page = Paginator(selectors.story_list(), 20).get_page(number)
        html = render_to_string("stories/home.html", {"page": page}, request)
        cache.set(key, html, STORY_PAGE_SECONDS)
    return HttpResponse(html)


def story_detail(request: HttpRequest, pk: int) -> HttpResponse:
    key = f"story-page:{pk}:{selectors.story_version(story_id=pk)}"
    html = cache.get(key)
    if html is None:
        html = render_to_string("stories/story_detail.html", {"page": selectors.story_page_get(story_id=pk)}, request)
        cache.set(key, html, STORY_PAGE_SECONDS)
    return HttpResponse(html)
