from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.clients import client_address, limit_allow
from sources.models import Side
from sources.selectors import outlets_version
from stories import browse, digest, reports, selectors
from stories.ask import AskAnswer, story_ask
from stories.forms import ContentReportForm, DigestSubscribeForm
from stories.models import ContentReport, Story
from stories.querysets import BLINDSPOT_SIDES, BlindspotRule

# A cached page is keyed on the story's version, so it shows a refresh as soon as the version is read
# again (NEWSROOM_VERSION_SECONDS); the time limit only bounds how long outlet details (names, badges)
# may lag a change.
STORY_PAGE_SECONDS = 600


def rendered_get(key: str) -> str | None:
    """A rendered page from this process's memory, else from the shared cache (then kept in memory).

    Every page key carries the version of what the page shows, so a copy kept in one process is
    never staler than the version (NEWSROOM_VERSION_SECONDS); it saves the shared cache's round trip
    and the transfer of a page of 100 KB or more on every view of a popular page (the "pages" cache:
    per process, bounded, see settings).
    """
    html = caches["pages"].get(key)
    if html is None:
        html = cache.get(key)
        if html is not None:
            caches["pages"].set(key, html)
    return html


def rendered_set(key: str, html: str, seconds: int) -> None:
    cache.set(key, html, seconds)
    caches["pages"].set(key, html, seconds)


def home(request: HttpRequest) -> HttpResponse:
    """Top stories (ranked by browse.top_stories), each with its coverage bar and any blindspot."""
    number = request.GET.get("page", "1")
    state = browse.stories_state()
    key = f"home:{number[:10]}:{state.version}"
    html = rendered_get(key)
    if html is None:
        page = Paginator(browse.top_stories(newest=state.newest), 20).get_page(number)
        page.object_list = browse.stories_with_blindspots(list(page.object_list))
        context = {"page": page, "window_hours": settings.NEWSROOM_TOP_STORIES_WINDOW_HOURS}
        html = render_to_string("stories/home.html", context, request)
        rendered_set(key, html, STORY_PAGE_SECONDS)
    return HttpResponse(html)


def _side_filter(request: HttpRequest) -> str:
    side = request.GET.get("side", "")
    return side if side in (*Side.values, "unrated") else ""


def story_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # One query on a cached page: the story's version and its FAQ's question ids.
    try:
        version = hashlib.sha1(selectors.story_page_version(story_id=pk).encode()).hexdigest()[:16]
    except Http404:
        merged_into = selectors.story_merged_into(story_id=pk) if 0 < pk < 2**63 else None
        if merged_into is None:
            raise
        query = f"?{request.META['QUERY_STRING']}" if request.META.get("QUERY_STRING") else ""
        return HttpResponsePermanentRedirect(reverse("stories:detail", kwargs={"pk": merged_into}) + query)
    side = _side_filter(request)
    key = f"story-page:{pk}:{version}:{side or 'all'}"
    html = rendered_get(key)
    if html is None:
        page = selectors.story_page_get(story_id=pk, side=side)
        html = render_to_string("stories/story_detail.html", {"page": page}, request)
        rendered_set(key, html, STORY_PAGE_SECONDS)
    return HttpResponse(html)


# --- Around the story page: blindspots, outlets, search, the digest, reports -------------------

BLINDSPOTS_PER_PAGE = 20


def blindspot_list(request: HttpRequest) -> HttpResponse:
    """Stories covered mostly by one side, each with the counts, shares and threshold that flagged it."""
    side = request.GET.get("side", "")
    sides = [(value, label) for value, label in Side.choices if value in BLINDSPOT_SIDES]
    if side and side not in BLINDSPOT_SIDES:
        context: dict[str, object] = {"error": f"Unknown side “{side}”: choose left or right.", "sides": sides}
        return render(request, "stories/blindspot.html", context, status=400)
    # Cached like the home page: keyed on the stories' version, which any refresh changes, so a
    # story's counts (and so the feed) follow it; the rule comes from settings.
    number = request.GET.get("page", "1")
    rule = BlindspotRule.current()
    key = f"blindspot:{side}:{number[:10]}:{rule.max_share}:{rule.min_rated}:{browse.stories_state().version}"
    html = rendered_get(key)
    if html is None:
        page = Paginator(browse.blindspot_feed(side=side), BLINDSPOTS_PER_PAGE).get_page(number)
        page.object_list = browse.stories_with_blindspots(list(page.object_list), rule)
        context = {"page": page, "side": side, "sides": sides, "rule": rule}
        html = render_to_string("stories/blindspot.html", context, request)
        rendered_set(key, html, STORY_PAGE_SECONDS)
    return HttpResponse(html)


# What an outlet page's key misses (a story's new title beside a recent article) waits this long.
OUTLET_PAGE_SECONDS = 60
# What a search page's key misses (an outlet renamed, an article deleted) waits this long.
SEARCH_PAGE_SECONDS = 60


def outlet_list(request: HttpRequest) -> HttpResponse:
    # Counting every outlet's articles took 66 ms at 100,000 articles: the page is kept, keyed on the
    # outlets, their domains and ratings (one query); the article counts it shows are at most a minute old.
    key = f"outlet-list:{outlets_version()}"
    html = rendered_get(key)
    if html is None:
        html = render_to_string("stories/outlet_list.html", {"outlets": browse.outlet_list()}, request)
        rendered_set(key, html, OUTLET_PAGE_SECONDS)
    return HttpResponse(html)


def outlet_detail(request: HttpRequest, slug: str) -> HttpResponse:
    version = hashlib.sha1(browse.outlet_page_version(slug=slug).encode()).hexdigest()[:16]
    key = f"outlet-page:{slug}:{version}"
    html = rendered_get(key)
    if html is None:
        html = render_to_string("stories/outlet_detail.html", {"page": browse.outlet_page_get(slug=slug)}, request)
        rendered_set(key, html, OUTLET_PAGE_SECONDS)
    return HttpResponse(html)


def search(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("q", "")
    try:
        query = browse.search_query_clean(raw)
    except browse.SearchQueryError as error:
        context: dict[str, Any] = {
            "query": raw[: browse.SEARCH_MAX_CHARS],
            "error": str(error),
            "max_chars": browse.SEARCH_MAX_CHARS,
        }
        return render(request, "stories/search.html", context, status=400)
    context = {"query": query, "max_chars": browse.SEARCH_MAX_CHARS}
    if not query:
        return render(request, "stories/search.html", context)
    # Readers search for the news of the day in the same words: a results page is kept, keyed on
    # the query, the page asked for, and the version of the articles and the stories (one query).
    page = request.GET.get("page", "1")
    asked = "\n".join((selectors.articles_version(with_stories=True), query, page))
    key = f"search:{hashlib.sha1(asked.encode()).hexdigest()}"
    html = rendered_get(key)
    if html is None:
        context["results"] = browse.search(query=query, page=page)
        html = render_to_string("stories/search.html", context, request)
        rendered_set(key, html, SEARCH_PAGE_SECONDS)
    return HttpResponse(html)


def digest_subscribe(request: HttpRequest) -> HttpResponse:
    """Each confirmation is an e-mail to an address someone typed: limited per client (so the form
    cannot flood strangers' inboxes) and per address (so no one inbox gets many)."""
    if request.method == "POST":
        form = DigestSubscribeForm(request.POST)
        if form.is_valid():
            email = form.cleaned_data["email"].strip().lower()
            if not limit_allow(
                "digest-client", client_address(request), limit=settings.NEWSROOM_SUBSCRIBES_PER_HOUR, seconds=3600
            ):
                form.add_error(None, "Many addresses were sent from here in the last hour. Please try again later.")
                return render(request, "stories/subscribe.html", {"form": form}, status=429)
            # Past the per-address limit nothing is sent, and the page is the same as when it is:
            # the form does not tell strangers what happened to an address.
            if limit_allow(
                "digest-address", email, limit=settings.NEWSROOM_CONFIRMATIONS_PER_ADDRESS_PER_DAY, seconds=86400
            ):
                try:
                    digest.digest_subscribe(email=email)
                except digest.DigestMailError:
                    form.add_error(
                        None,
                        "We could not send the confirmation e-mail just now. Nothing was lost: "
                        "please try again in a few minutes.",
                    )
                    return render(request, "stories/subscribe.html", {"form": form}, status=503)
            return redirect("stories:digest-sent")
        return render(request, "stories/subscribe.html", {"form": form}, status=400)
    return render(request, "stories/subscribe.html", {"form": DigestSubscribeForm()})


def digest_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "stories/subscribe_sent.html")


def digest_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button, POST confirms: link scanners in mail systems only GET, and must not subscribe anyone."""
    if request.method == "POST":
        try:
            subscription = digest.digest_confirm(token=token)
        except digest.DigestTokenError as error:
            return render(request, "stories/subscribe_invalid.html", {"error": str(error)}, status=400)
        return render(request, "stories/subscribe_confirm.html", {"confirmed": True, "email": subscription.email})
    return render(request, "stories/subscribe_confirm.html", {"confirmed": False})


@csrf_exempt  # The signed token is the credential; mail clients' one-click unsubscribe POSTs carry no CSRF token.
def digest_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        try:
            subscription = digest.digest_unsubscribe(token=token)
        except digest.DigestTokenError as error:
            return render(request, "stories/subscribe_invalid.html", {"error": str(error)}, status=400)
        context = {"done": True, "email": subscription.email}
        return render(request, "stories/subscribe_unsubscribe.html", context)
    return render(request, "stories/subscribe_unsubscribe.html", {"done": False})


def _report_allowed(request: HttpRequest) -> bool:
    """At most NEWSROOM_REPORTS_PER_HOUR reports an hour from one client, so the queue cannot be flooded."""
    return limit_allow(
        "content-reports", client_address(request), limit=settings.NEWSROOM_REPORTS_PER_HOUR, seconds=3600
    )


def content_report(request: HttpRequest, pk: int) -> HttpResponse:
    """A reader reports a problem in a story's generated content (?target=overview, left, ...)."""
    story = get_object_or_404(Story.objects.listed().only("pk", "title"), pk=pk)
    if request.method == "POST":
        form = ContentReportForm(request.POST)
        if form.is_valid():
            if not _report_allowed(request):
                form.add_error(None, "You have sent many reports in the last hour. Please try again later.")
                return render(request, "stories/report.html", {"story": story, "form": form}, status=429)
            reports.content_report_create(story=story, **form.cleaned_data)
            return redirect("stories:report-thanks", pk=story.pk)
        return render(request, "stories/report.html", {"story": story, "form": form}, status=400)
    target = request.GET.get("target", "")
    form = ContentReportForm(initial={"target": target} if target in ContentReport.Target.values else {})
    return render(request, "stories/report.html", {"story": story, "form": form})


def content_report_thanks(request: HttpRequest, pk: int) -> HttpResponse:
    story = get_object_or_404(Story.objects.listed().only("pk", "title"), pk=pk)
    return render(request, "stories/report_thanks.html", {"story": story})


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
