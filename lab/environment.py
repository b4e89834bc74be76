"""Django for the lab's entry points: they run outside ``manage.py``, with the project's settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup(settings_module: str = "newsroom.settings.local") -> None:
    """Set Django up as ``manage.py`` does (``DJANGO_SETTINGS_MODULE`` wins), once per process."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django
    from django.apps import apps

    # Already set up (a test run, or a second entry point in one process): setting up again would
    # configure logging anew.
    if not apps.ready:
        django.setup()
