"""Ask's answer cross-encoder: does this sentence answer this question?

The question and one sentence read as one input by the shared MiniLM encoder with low-rank adapters
and a linear head (``analysis.nlp.same_claim_cross.CrossEncoder``, the same-claim model's design),
trained with ``python -m lab.train_ask_cross`` on passages and questions written for the project
(``lab/data/ask_train/``). A sentence on the question's topic is not an answer: "The governor
requested a disaster declaration" does not answer "Has the federal government approved the disaster
declaration?", and words shared with the question cannot tell the two apart, which the cross-encoder,
reading each word of one against the other, can. See docs/models.md (Ask) for its card.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analysis.nlp.same_claim_cross import CrossEncoder

logger = logging.getLogger(__name__)

ANSWER_CROSS_PATH = Path(__file__).parent / "weights" / "answer_cross.safetensors"


@functools.cache
def answer_cross_encoder(
    path: str = "", encoder_path: str = "", backend: str = "torch", onnx_dir: str = ""
) -> CrossEncoder:
    """The answer cross-encoder at ``path`` (default: the shipped one), loaded once per process, run on
    ``backend`` (torch or onnx, ``CrossEncoder.load``)."""
    from analysis.nlp.models import default_encoder_path

    cross = CrossEncoder.load(
        Path(path or ANSWER_CROSS_PATH), encoder_path or default_encoder_path(), backend=backend, onnx_dir=onnx_dir
    )
    if cross.meta.get("task") != "answers":
        raise ValueError(f"{path or ANSWER_CROSS_PATH}: not an answer cross-encoder")
    return cross


def answer_probabilities(cross: CrossEncoder, question: str, sentences: Sequence[str]) -> np.ndarray[Any, Any]:
    """The probability that each sentence answers ``question``."""
    if not sentences:
        return np.zeros(0, dtype=np.float32)
    logits = cross.logits([(question, sentence) for sentence in sentences])
    return np.asarray(1 / (1 + np.exp(-logits)), dtype=np.float32)
