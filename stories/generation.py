"""An optional rewrite of the extractive overview by a text-generation model, kept only if faithful.

Off unless NEWSROOM_GENERATION_URL names an OpenAI-compatible endpoint. The model is asked to
rewrite the overview's sentences more readably; each sentence it returns is encoded and must
match one of the source sentences (cosine at or above NEWSROOM_GENERATION_MIN_SIMILARITY), whose
citations it then carries. One unmatched sentence and the whole rewrite is dropped: the
extractive overview stays. Any failure of the endpoint does the same.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import numpy as np
from django.conf import settings

from analysis.nlp.answer import sentences_match
from analysis.nlp.models import sentence_encoder

logger = logging.getLogger(__name__)

SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"\u201d']))\s+(?=[\"\u201c']?[A-Z])")
INSTRUCTIONS = (
    "Rewrite these news sentences as a short, plain overview. Keep every fact as stated, add nothing, "
    "keep one sentence per source sentence, and answer with the sentences only."
)


def _encode(texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
    vectors = sentence_encoder(settings.NEWSROOM_EMBEDDING_MODEL).encode(
        texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


def _completion(sources: list[str]) -> str:
    numbered = "\n".join(f"{number}. {text}" for number, text in enumerate(sources, start=1))
    api_key = settings.NEWSROOM_GENERATION_API_KEY
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {
        "model": settings.NEWSROOM_GENERATION_MODEL,
        "temperature": 0,
        "messages": [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": numbered}],
    }
    url = settings.NEWSROOM_GENERATION_URL.rstrip("/") + "/chat/completions"
    with httpx.Client(timeout=settings.NEWSROOM_GENERATION_TIMEOUT_SECONDS, trust_env=False) as client:
        response = client.post(url, json=body, headers=headers)
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])


def overview_rewrite(overview: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The overview as the model rewrote it, each sentence cited like the source it matches; None
    when generation is off, fails, or says anything the sources do not."""
    if not settings.NEWSROOM_GENERATION_URL or not overview:
        return None
    sources = [sentence["text"] for sentence in overview]
    try:
        text = _completion(sources)
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as error:
        logger.warning("Overview generation failed, keeping the extractive overview: %s", error)
        return None
    generated = [" ".join(part.split()) for part in SENTENCE_END.split(text.strip()) if part.strip()]
    generated = [re.sub(r"^\d+[.)]\s*", "", sentence) for sentence in generated]
    if not generated:
        return None
    matches = sentences_match(
        _encode(generated), _encode(sources), min_similarity=settings.NEWSROOM_GENERATION_MIN_SIMILARITY
    )
    if any(match is None for match in matches):
        unmatched = [sentence for sentence, match in zip(generated, matches, strict=True) if match is None]
        logger.warning("Generated overview rejected: %d sentence(s) match no source: %r", len(unmatched), unmatched)
        return None
    return [
        {**overview[source], "text": sentence, "source": overview[source]["text"], "is_generated": True}
        for sentence, source in zip(generated, matches, strict=True)
        if source is not None
    ]
