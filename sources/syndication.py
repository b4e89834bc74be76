"""Near-duplicate fingerprints: MinHash signatures of word 5-grams, split into LSH bands.

Pure functions: nothing here touches the database. Two articles whose signatures share
a band key are candidates; the share of equal signature values estimates the Jaccard
similarity of their 5-gram sets, which decides. With 32 bands of 4 values, pairs at a
similarity of 0.6 become candidates with a probability above 0.98, pairs at 0.2 rarely.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
from datasketch import MinHash

PERMUTATIONS = 128
BANDS = 32
ROWS = PERMUTATIONS // BANDS
SHINGLE_WORDS = 5
# Fewer shingles than this and two unrelated briefs look alike: no fingerprint is taken.
MIN_SHINGLES = 20
SEED = 1
WORD = re.compile(r"\w+", re.UNICODE)


def shingles_of(text: str) -> set[bytes]:
    words = WORD.findall(text.lower())
    return {" ".join(words[index : index + SHINGLE_WORDS]).encode() for index in range(len(words) - SHINGLE_WORDS + 1)}


def signature_of(text: str) -> bytes | None:
    """The MinHash signature of the text's 5-grams (little-endian uint64s), or None for too short a text."""
    shingles = shingles_of(text)
    if len(shingles) < MIN_SHINGLES:
        return None
    minhash = MinHash(num_perm=PERMUTATIONS, seed=SEED)
    minhash.update_batch(list(shingles))
    return bytes(minhash.hashvalues.astype("<u8").tobytes())


def band_keys(signature: bytes) -> list[int]:
    """One signed 64-bit key per band (it fits a BigIntegerField), the band's number mixed in."""
    keys = []
    width = ROWS * 8
    for band in range(BANDS):
        digest = hashlib.blake2b(bytes([band]) + signature[band * width : (band + 1) * width], digest_size=8)
        keys.append(int.from_bytes(digest.digest(), "little", signed=True))
    return keys


def similarity(first: bytes, second: bytes) -> float:
    """The estimated Jaccard similarity of the two texts' 5-gram sets."""
    a = np.frombuffer(first, dtype="<u8")
    b = np.frombuffer(second, dtype="<u8")
    if a.shape != b.shape:
        return 0.0
    return float(np.count_nonzero(a == b)) / len(a)
