"""Loading the models a web process needs before its first request asks for them."""

from __future__ import annotations

import logging
import threading

from django.conf import settings

logger = logging.getLogger(__name__)


def models_warm() -> None:
    """Load Ask's sentence encoder and run it once (the first encoding pays for its own set-up too)."""
    from stories.ask import question_encode

    try:
        question_encode("Load the encoder before the first question.")
    except Exception:  # a missing model must not stop the site: the first question will say why
        logger.exception("Could not load the sentence encoder at start")
    else:
        logger.info("Sentence encoder loaded")


def models_warm_start() -> threading.Thread | None:
    """Load the models in a background thread when NEWSROOM_WARM_MODELS is on.

    In a thread, so the server starts listening at once (a gunicorn worker that took 15 s to
    boot would be killed for it); a question asked meanwhile waits for the same load, not a second one.
    """
    if not settings.NEWSROOM_WARM_MODELS:
        return None
    thread = threading.Thread(target=models_warm, name="models-warm", daemon=True)
    thread.start()
    return thread
