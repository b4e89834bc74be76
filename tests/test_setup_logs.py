"""Setup and logs (issue 20): the site's address follows the port it is served on, and a site
without a broker does not log every in-process task nor kombu's missing-host warning."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setting(name: str, **environment: str) -> str:
    """A setting as the laptop settings read it from the environment, in a fresh interpreter."""
    env = {key: value for key, value in os.environ.items() if key not in {"NEWSROOM_SITE_URL", "PORT"}}
    env.update(environment, DJANGO_SETTINGS_MODULE="newsroom.settings.local")
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def test_it_derives_the_site_address_from_the_port_unless_it_is_set() -> None:
    assert _setting("NEWSROOM_SITE_URL") == "http://127.0.0.1:8000"
    assert _setting("NEWSROOM_SITE_URL", PORT="8801") == "http://127.0.0.1:8801"
    assert _setting("NEWSROOM_SITE_URL", PORT="8801", NEWSROOM_SITE_URL="https://news.example.org") == (
        "https://news.example.org"
    )


def _log_levels(*names: str, **environment: str) -> list[int]:
    """The effective levels of some loggers once the laptop settings are loaded, in a fresh interpreter."""
    env = {**os.environ, **environment, "DJANGO_SETTINGS_MODULE": "newsroom.settings.local"}
    code = (
        "import django, logging; django.setup(); "
        f"print(*(logging.getLogger(name).getEffectiveLevel() for name in {names!r}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return [int(level) for level in output.split()[-len(names) :]]


def test_without_a_broker_it_keeps_celery_s_per_task_lines_and_kombu_s_warning_out_of_the_log() -> None:
    # Without a broker whatever this run's environment says (CI's sets one).
    trace, kombu, ask = _log_levels("celery.app.trace", "kombu.connection", "stories.ask", CELERY_BROKER_URL="")

    assert (trace, kombu) == (logging.WARNING, logging.ERROR)
    assert ask <= logging.INFO


def test_with_a_broker_celery_logs_its_tasks_as_usual() -> None:
    (trace,) = _log_levels("celery.app.trace", CELERY_BROKER_URL="redis://127.0.0.1:6379/0")

    assert trace <= logging.INFO
