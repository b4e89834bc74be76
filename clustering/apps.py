from __future__ import annotations

from django.apps import AppConfig


class ClusteringConfig(AppConfig):
    name = "clustering"
    verbose_name = "Clustering"
