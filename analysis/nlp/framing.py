"""A first framing tagger over the 14 generic policy frames (Boydstun et al., Policy Frames Codebook).

Each frame is described by a few prototype sentences written for this project
from the codebook's definitions. A sentence carries a frame when its embedding
is close enough to one of the frame's prototypes; an article is tagged with the
frames its sentences carry most strongly, and keeps those sentences as evidence.
It is a zero-shot baseline until a classifier trained on labelled data replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

VERSION = "prototypes-1"

FRAMES: dict[str, list[str]] = {
    "Economic": [
        "The policy will cost taxpayers billions of dollars and hurt the economy.",
        "Businesses, jobs, wages, prices and the budget are affected financially.",
        "Economists warn of higher inflation, lost revenue and slower growth.",
    ],
    "Capacity_and_resources": [
        "There are not enough staff, beds, money or equipment to cope.",
        "Officials say resources are stretched and capacity is running out.",
        "The agency lacks the funding and personnel to carry out the plan.",
    ],
    "Morality": [
        "It is a moral duty and the right thing to do.",
        "Religious leaders called the decision sinful and wrong.",
        "This is a question of conscience, ethics and human decency.",
    ],
    "Fairness_and_equality": [
        "The rule treats some groups unfairly and deepens inequality.",
        "Advocates say the policy discriminates against minorities and the poor.",
        "Everyone deserves equal treatment and equal rights.",
    ],
    "Legality_Constitutionality_and_jurisprudence": [
        "The court ruled that the law violates the Constitution.",
        "Lawyers filed a lawsuit challenging the legality of the order.",
        "Judges will decide whether the statute is lawful.",
    ],
    "Policy_prescription_and_evaluation": [
        "Lawmakers proposed a bill to fix the problem.",
        "Critics say the program has failed and should be replaced.",
        "The plan would change how the policy works and whether it is effective.",
    ],
    "Crime_and_punishment": [
        "Police arrested the suspect, who faces criminal charges.",
        "Prosecutors sought a prison sentence for the offenders.",
        "Crime rates, violence and law enforcement are at issue.",
    ],
    "Security_and_defense": [
        "The military strengthened national defense against the threat.",
        "Officials warned of terrorism and risks to national security.",
        "Troops, weapons and border security were deployed.",
    ],
    "Health_and_safety": [
        "Doctors warn of the risk to public health and patient safety.",
        "The outbreak caused illness, hospitalisations and deaths.",
        "Safety standards, disease and medical care are at stake.",
    ],
    "Quality_of_life": [
        "Families say daily life has become harder for ordinary people.",
        "Residents worry about their homes, communities and well-being.",
        "The change affects how people live, commute and raise children.",
    ],
    "Cultural_identity": [
        "The debate touches on national traditions, heritage and identity.",
        "Customs, language and cultural values of the community are involved.",
        "It is about who we are as a people and our way of life.",
    ],
    "Public_opinion": [
        "A new poll shows most voters oppose the measure.",
        "Protesters rallied and the public backlash grew.",
        "Surveys show public support for the idea is rising.",
    ],
    "Political": [
        "Democrats and Republicans clashed over the vote in the legislature.",
        "The governor's party hopes to gain ahead of the election.",
        "Partisan lawmakers, campaigns and political strategy drive the fight.",
    ],
    "External_regulation_and_reputation": [
        "Foreign governments criticised the country's international standing.",
        "The nation's reputation abroad and its relations with allies suffered.",
        "International bodies and treaties put pressure on the government.",
    ],
}

# A sentence carries a frame at this cosine similarity to one of its prototypes.
SENTENCE_THRESHOLD = 0.38
MAX_FRAMES = 3


@dataclass(frozen=True)
class FrameTag:
    frame: str
    score: float
    sentences: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {"frame": self.frame, "score": round(self.score, 3), "sentences": self.sentences}


def prototype_texts() -> tuple[list[str], list[str]]:
    """(frame of each prototype, prototype text), flattened in a fixed order."""
    frames, texts = [], []
    for frame, examples in FRAMES.items():
        for example in examples:
            frames.append(frame)
            texts.append(example)
    return frames, texts


def frames_tag(
    sentence_matrix: np.ndarray[Any, Any],
    prototype_matrix: np.ndarray[Any, Any],
    prototype_frames: list[str],
) -> list[FrameTag]:
    """Tag an article from its unit sentence vectors and the unit prototype vectors."""
    if sentence_matrix.size == 0:
        return []
    similarity = sentence_matrix @ prototype_matrix.T  # sentences x prototypes
    tags = []
    for frame in FRAMES:
        columns = [index for index, name in enumerate(prototype_frames) if name == frame]
        per_sentence = similarity[:, columns].max(axis=1)
        carrying = [int(index) for index in np.flatnonzero(per_sentence >= SENTENCE_THRESHOLD)]
        if not carrying:
            continue
        strongest = np.sort(per_sentence)[::-1][:2]
        ordered = sorted(carrying, key=lambda index: -per_sentence[index])[:3]
        tags.append(FrameTag(frame=frame, score=float(strongest.mean()), sentences=sorted(ordered)))
    tags.sort(key=lambda tag: -tag.score)
    return tags[:MAX_FRAMES]
