from __future__ import annotations

from django.urls import path

from stories import views

app_name = "stories"
urlpatterns = [
    path("", views.home, name="home"),
    path("stories/<int:pk>/", views.story_detail, name="detail"),
    path("stories/<int:pk>/ask/", views.story_ask_view, name="ask"),
]
