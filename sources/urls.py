from __future__ import annotations

from django.urls import path

from sources import views

app_name = "sources"
urlpatterns = [
    path("methodology/", views.methodology, name="methodology"),
    path("ratings/changelog/", views.ratings_changelog, name="ratings-changelog"),
]
