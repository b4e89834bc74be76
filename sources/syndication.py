"""Near-duplicates (wire copies): MinHash signatures of word 5-grams, split into LSH bands, and
the write that links an article to the original of its copies.

The signature functions are pure: only ``article_syndication_link`` touches the database. Two
articles whose signatures share a band key are candidates; the share of equal signature values
estimates the Jaccard similarity of their 5-gram sets, which decides. With 32 bands of 4 values,
pairs at a similarity of 0.6 become candidates with a probability above 0.98, pairs at 0.2 rarely.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from sources.models import Article, ArticleFingerprint, ArticleFingerprintBand

logger = logging.getLogger(__name__)

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
    # Imported here: datasketch's package imports SciPy (about 55 MiB), which a web worker, importing
    # this module with the app's models, never needs.
    from datasketch import MinHash

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


# --- Linking an article to the original of its copies ---------------------------------

# Any fixed number: the key of the PostgreSQL advisory lock that serialises linking.
SYNDICATION_LOCK_KEY = 0x53594E44


def article_syndication_link(*, article_id: int) -> Article | None:
    """Fingerprint the article's text and link it to the original of its near-copies, if any.

    The original of a group is its earliest article (by publication, then discovery time): when
    a copy arrives before its original, the group is moved under the newcomer. Idempotent: an
    article already fingerprinted is left alone. Runs under an advisory lock on PostgreSQL (two
    copies fingerprinted at once by two workers would not see each other otherwise); SQLite
    serialises writers already. Returns the original the article was linked to, or None.
    """
    article = Article.objects.filter(pk=article_id).first()
    if article is None or not article.text:
        return None
    signature = signature_of(article.text)
    if signature is None:
        return None
    keys = band_keys(signature)
    window = timedelta(days=settings.NEWSROOM_SYNDICATION_WINDOW_DAYS)
    moment = article.sort_time
    in_window = Q(article__published_at__range=(moment - window, moment + window)) | Q(
        article__published_at__isnull=True, article__discovered_at__range=(moment - window, moment + window)
    )
    threshold: float = settings.NEWSROOM_SYNDICATION_THRESHOLD
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SYNDICATION_LOCK_KEY])
        if ArticleFingerprint.objects.filter(article_id=article_id).exists():
            return None
        fingerprint = ArticleFingerprint.objects.create(article_id=article_id, minhash=signature)
        candidate_ids = (
            ArticleFingerprintBand.objects.filter(key__in=keys).values_list("fingerprint_id", flat=True).distinct()
        )
        best: tuple[float, Article] | None = None
        for candidate in (
            ArticleFingerprint.objects.filter(in_window, article_id__in=list(candidate_ids))
            .exclude(article_id=article_id)
            .select_related("article__syndicated_from")
        ):
            score = similarity(signature, bytes(candidate.minhash))
            if score >= threshold and (best is None or score > best[0]):
                best = (score, candidate.article)
        ArticleFingerprintBand.objects.bulk_create(
            [ArticleFingerprintBand(fingerprint=fingerprint, key=key) for key in keys]
        )
        if best is None:
            return None
        score, match = best
        original = match.syndicated_from or match
        if (moment, article.pk) < (original.sort_time, original.pk):
            # The newcomer is older than the group's original: it becomes the original.
            Article.objects.filter(Q(pk=original.pk) | Q(syndicated_from=original)).update(syndicated_from=article)
            Article.objects.filter(pk=original.pk).update(syndication_similarity=score)
            return None
        Article.objects.filter(pk=article_id).update(syndicated_from=original, syndication_similarity=score)
    logger.info("Article %s is a syndicated copy of %s (similarity %.2f)", article_id, original.pk, score)
    return original
