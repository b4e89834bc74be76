from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sources.models import Side
from stories import selectors
from stories.ask import AskAnswer, story_ask

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


def _side_filter(request: HttpRequest) -> str:
    side = request.GET.get("side", "")
    return side if side in (*Side.values, "unrated") else ""


def story_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # The FAQ changes between refreshes (readers ask), so its questions are part of the key.
    version = selectors.story_version(story_id=pk)
    faq = selectors.story_faq_get(story_id=pk)
    faq_key = hashlib.sha1(",".join(str(question.pk) for question in faq).encode()).hexdigest()[:12]
    side = _side_filter(request)
    key = f"story-page:{pk}:{version}:{faq_key}:{side or 'all'}"
    html = cache.get(key)
    if html is None:
        page = selectors.story_page_get(story_id=pk, side=side, faq=faq)
        html = render_to_string("stories/story_detail.html", {"page": page}, request)
        cache.set(key, html, STORY_PAGE_SECONDS)
    return HttpResponse(html)


# The page that carries the form is cached and shared by all readers, so it cannot hold a
# per-reader CSRF token; asking changes nothing of the reader's and needs no session.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def story_ask_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer the form's question on the story page itself (never cached); GET goes back to the form."""
    if request.method == "GET":
        return HttpResponseRedirect(reverse("stories:detail", kwargs={"pk": pk}) + "#ask")
    question = request.POST.get("question", "")
    answer: AskAnswer | None = None
    error = ""
    status = 200
    try:
        answer = story_ask(story_id=pk, question=question)
    except ValidationError as invalid:
        error, status = " ".join(invalid.messages), 400
    page = selectors.story_page_get(story_id=pk, side=_side_filter(request))
    context = {"page": page, "answer": answer, "ask_error": error, "asked": question[:1000]}
    return HttpResponse(render_to_string("stories/story_detail.html", context, request), status=status)
