from __future__ import annotations

from django.urls import path

from stories import views

app_name = "stories"
urlpatterns = [
    path("", views.home, name="home"),
    path("stories/<int:pk>/", views.story_detail, name="detail"),
    path("stories/<int:pk>/ask/", views.story_ask_view, name="ask"),
]
urlpatterns += [
    path("blindspot/", views.blindspot_list, name="blindspot"),
    path("outlets/", views.outlet_list, name="outlets"),
    path("outlets/<slug:slug>/", views.outlet_detail, name="outlet"),
    path("search/", views.search, name="search"),
    path("digest/", views.digest_subscribe, name="digest"),
    path("digest/sent/", views.digest_sent, name="digest-sent"),
    path("digest/confirm/<str:token>/", views.digest_confirm, name="digest-confirm"),
    path("digest/unsubscribe/<str:token>/", views.digest_unsubscribe, name="digest-unsubscribe"),
    path("stories/<int:pk>/report/", views.content_report, name="report"),
    path("stories/<int:pk>/report/thanks/", views.content_report_thanks, name="report-thanks"),
]
