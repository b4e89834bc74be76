"""Loading the models a web process needs before its first request asks for them."""

from __future__ import annotations

import logging
import threading

from django.conf import settings

logger = logging.getLogger(__name__)


def models_warm() -> None:
    """Load Ask's sentence encoder and answer cross-encoder and run each once (the first run pays for its
    own set-up too)."""
    from analysis.nlp.answer_cross import answer_probabilities
    from stories.ask import answer_judge, question_encode

    try:
        question_encode("Load the encoder before the first question.")
        judge = answer_judge()
        if judge is not None:
            answer_probabilities(judge, "Who loads the models?", ["The web process loads them when it starts."])
    except Exception:  # a missing model must not stop the site: the first question will say why
        logger.exception("Could not load Ask's models at start")
    else:
        logger.info("Ask's models loaded")


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
