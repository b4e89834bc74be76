"""Online clustering of articles into stories: pure functions over unit embeddings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Vector = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True)
class Match:
    index: int
    similarity: float


def best_match(vector: Vector, centroids: list[Vector], *, threshold: float) -> Match | None:
    """The most similar centroid at or above ``threshold``, or None: the article starts a new story."""
    if not centroids:
        return None
    similarities = np.vstack(centroids) @ vector
    index = int(np.argmax(similarities))
    similarity = float(similarities[index])
    return Match(index=index, similarity=similarity) if similarity >= threshold else None


def centroid_add(centroid: Vector, count: int, vector: Vector) -> Vector:
    """The unit mean after adding ``vector`` to a centroid of ``count`` members."""
    total = centroid * count + vector if count else vector
    norm = float(np.linalg.norm(total))
    return (total / norm).astype(np.float32) if norm else total.astype(np.float32)
