"""Other evidence for the framing classifier, each scored under the shipped model's protocol.

    .venv/bin/python lab/bench/framing_alternatives.py FILE.jsonl [--only mil,char,...]
        [--unlabelled CORPUS.jsonl ...] [--cache DIR]

What the framing model card's "session 4" rows come from. Each variant is a set of
*models*, each a function from (training rows, held-out rows) to the held-out rows'
logits over the 14 frames; the models are stacked per frame (as the shipped model
stacks its two) and thresholds chosen jointly, all inside an inner 4-fold
cross-validation of each outer training fold, so that every printed score is a nested
5-fold estimate (outer folds ``KFold(5, shuffle=True, random_state=seed)``, as
``lab.train_framing --cv 5``). The embedding model's C is fixed at 0.003 and the lexical
model's at 10, so read the rows against the printed reference row, not the command's.

Variants (``--only``; default all but ``finetune`` and ``self``):
- ``reference``: the shipped design, embedding + lexical models;
- ``mil``: a linear scorer per sentence pooled over the article by log-sum-exp, trained
  end to end on the article labels (PyTorch), alone and as a third model;
- ``char``: TF-IDF of character 3-5-grams within words, alone, as a third model, and in
  place of the word model;
- ``fulltext``: the lexical model over the whole text instead of the first 40 sentences;
- ``prototypes``: cosine of each sentence to written descriptions of each frame (zero-shot),
  a small model per frame over the top, top-three mean and mean similarity;
- ``self``: self-training of the embedding model on unlabelled articles (``--unlabelled``);
- ``finetune``: the encoder's last layer fine-tuned on one outer fold's training part, scored
  alone on its held-out part at threshold 0.5 against the frozen encoder (minutes per epoch).

Encoding is the slow part: ``--cache DIR`` keeps the sentence vectors between runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings.local")

Matrix = np.ndarray[Any, np.dtype[Any]]
Rows = Matrix
Model = Callable[[Rows, Rows], Matrix]

# Written for this bench from the Policy Frames Codebook's definitions (Boydstun et al., 2014):
# a definition and two typical sentences per frame.
FRAME_PROTOTYPES = {
    "Economic": [
        "The costs, benefits and financial implications of the issue for the economy.",
        "The policy will cost taxpayers billions and hurt economic growth, jobs and wages.",
        "Prices, inflation, trade, markets, budgets and spending are affected.",
    ],
    "Capacity_and_resources": [
        "The availability or lack of physical, human or financial resources and capacity.",
        "There are not enough staff, beds, shelters or funds to cope with the demand.",
        "Authorities say the system is overwhelmed and has run out of capacity.",
    ],
    "Morality": [
        "Religious or ethical implications; what is morally right or wrong.",
        "It is our moral duty; this is evil, sinful and shameful.",
        "Faith, God, conscience and values demand that we act.",
    ],
    "Fairness_and_equality": [
        "Equality or inequality with which laws, punishments, rewards and resources are distributed among groups.",
        "This is discrimination; minorities and women are treated unfairly and unequally.",
        "Everyone deserves equal rights and equal treatment under the law.",
    ],
    "Legality_Constitutionality_and_jurisprudence": [
        "The constraints imposed on or freedoms granted by the constitution, laws and courts.",
        "The court ruled that the law was unconstitutional; the lawsuit and judge's decision.",
        "Legal rights, court cases, judges and the Supreme Court.",
    ],
    "Policy_prescription_and_evaluation": [
        "Particular policies proposed for addressing an identified problem, and whether existing policies work.",
        "The government should adopt a new plan; the current policy has failed.",
        "Lawmakers proposed a bill and measures to fix the problem.",
    ],
    "Crime_and_punishment": [
        "Violation of policies in practice and the consequences: crime, police, arrests and sentences.",
        "The suspect was arrested and charged with murder and faces years in prison.",
        "Police investigate the crime; the criminal was convicted and punished.",
    ],
    "Security_and_defense": [
        "Threats to the welfare of the nation or people; defense, war, terrorism and military.",
        "Troops, missiles and attacks threaten national security.",
        "The army defends the border against the enemy and terrorists.",
    ],
    "Health_and_safety": [
        "Health care, sanitation, public safety, disease, injuries and deaths.",
        "The virus spread and hospitals treated patients; vaccines and public health.",
        "People were injured or killed; safety risks to health.",
    ],
    "Quality_of_life": [
        "The effects of a policy on people's wealth, mobility, daily routines, community life and happiness.",
        "Families struggle in their daily lives; their homes, children and communities suffer.",
        "Living conditions, wellbeing and happiness of ordinary people.",
    ],
    "Cultural_identity": [
        "The traditions, customs or values of a social group in relation to the issue.",
        "Our national identity, culture, language and heritage are at stake.",
        "Immigrants change the culture and traditions of the nation.",
    ],
    "Public_opinion": [
        "The attitudes and opinions of the general public, including polls and demographics.",
        "A poll shows most voters support the plan; public outrage and protests grew.",
        "Surveys of Americans show public opinion is divided.",
    ],
    "Political": [
        "Considerations related to politics and politicians: lobbying, elections, parties and partisan maneuvering.",
        "Democrats and Republicans clashed as the president's party campaigned before the election.",
        "Politicians, lawmakers and political leaders in parliament and government.",
    ],
    "External_regulation_and_reputation": [
        "The country's reputation abroad and its external relations with other nations.",
        "Foreign governments, the United Nations and international relations and diplomacy.",
        "Sanctions, treaties and how other countries view the nation.",
    ],
}
VARIANTS = ("reference", "mil", "char", "fulltext", "prototypes", "self", "finetune")
DEFAULT_VARIANTS = ("reference", "mil", "char", "fulltext", "prototypes")


def sentence_vectors(articles: list[Any], cache: Path | None) -> tuple[list[Matrix], list[list[str]]]:
    """Each article's unit sentence vectors and its segments (``evaluate_framing``'s), kept in ``cache``."""
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            if len(data["offsets"]) == len(articles) + 1:
                offsets, segment_offsets = data["offsets"], data["segment_offsets"]
                texts = [str(text) for text in data["segments"]]
                return (
                    [data["vectors"][offsets[row] : offsets[row + 1]] for row in range(len(articles))],
                    [texts[segment_offsets[row] : segment_offsets[row + 1]] for row in range(len(articles))],
                )
    from analysis.evaluation import sentence_matrices_compute

    matrices, segments = sentence_matrices_compute(articles)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            cache,
            vectors=np.vstack(matrices),
            offsets=np.cumsum([0] + [len(matrix) for matrix in matrices]),
            segments=np.array([text for article in segments for text in article]),
            segment_offsets=np.cumsum([0] + [len(article) for article in segments]),
        )
    return [np.asarray(matrix, dtype=np.float32) for matrix in matrices], segments


class Bench:
    def __init__(self, matrices: list[Matrix], segments: list[list[str]], articles: list[Any]) -> None:
        from analysis.evaluation import labels_matrix

        self.matrices = matrices
        self.segments = segments
        self.full_texts = [[article.title, article.text] for article in articles]
        self.mean = np.vstack([matrix.mean(axis=0) for matrix in matrices]).astype(np.float64)
        self.labels = labels_matrix(articles)

    # --- the models

    def embedding(self, train: Rows, held_out: Rows, c: float = 0.003) -> Matrix:
        from lab.framing_training import embedding_logits

        return embedding_logits(self.mean[train], self.labels[train], c, self.mean[held_out])

    def lexical(self, train: Rows, held_out: Rows, c: float = 10.0, whole_text: bool = False) -> Matrix:
        from lab.framing_training import lexical_logits

        source = self.full_texts if whole_text else self.segments
        return lexical_logits([source[row] for row in train], self.labels[train], c, [source[row] for row in held_out])

    def characters(self, train: Rows, held_out: Rows, c: float = 10.0) -> Matrix:
        from sklearn.feature_extraction.text import TfidfVectorizer

        from lab.framing_training import frames_logistic_fit

        documents = [" ".join(article) for article in self.segments]
        vectoriser = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2, max_features=50_000
        )
        rows = vectoriser.fit_transform([documents[row] for row in train])
        coef, intercept = frames_logistic_fit(rows, self.labels[train], c)
        return np.asarray(vectoriser.transform([documents[row] for row in held_out]) @ coef.T) + intercept

    def sentence_pooled(self, train: Rows, held_out: Rows, sharpness: float = 2.0, decay: float = 1e-3) -> Matrix:
        """A linear scorer per sentence, pooled by log-sum-exp (mean at 0, max at infinity), trained end to end."""
        import torch

        torch.manual_seed(0)
        longest = max(len(matrix) for matrix in self.matrices)
        dimension = self.matrices[0].shape[1]
        padded = np.zeros((len(self.matrices), longest, dimension), np.float32)
        mask = np.zeros((len(self.matrices), longest), bool)
        for row, matrix in enumerate(self.matrices):
            padded[row, : len(matrix)], mask[row, : len(matrix)] = matrix, True
        centre = np.vstack(self.matrices).mean(axis=0)  # no labels: the same on every fold
        inputs, present = torch.tensor((padded - centre) * mask[..., None]), torch.tensor(mask)
        targets = torch.tensor(self.labels, dtype=torch.float32)
        positives = targets[train].sum(0)
        loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=(len(train) - positives) / positives.clamp(min=1))
        scorer = torch.nn.Linear(dimension, self.labels.shape[1])
        optimiser = torch.optim.Adam(scorer.parameters(), lr=0.01, weight_decay=decay)

        def pooled(rows: Rows) -> Any:
            index = torch.tensor(rows)
            scores = (scorer(inputs[index]) * sharpness).masked_fill(~present[index][..., None], -1e9)
            counts = present[index].sum(1, keepdim=True).float()
            return (torch.logsumexp(scores, 1) - torch.log(counts)) / sharpness

        for _epoch in range(200):
            optimiser.zero_grad()
            loss = loss_of(pooled(train), targets[torch.tensor(train)])
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            return pooled(held_out).double().numpy()

    def prototype_features(self) -> Matrix:
        from analysis.nlp.models import sentence_encoder

        encoder = sentence_encoder()
        prototypes = [encoder.encode(FRAME_PROTOTYPES[frame], normalize_embeddings=True) for frame in _frames()]
        features = np.zeros((len(self.matrices), len(prototypes), 3))
        for row, matrix in enumerate(self.matrices):
            for index, vectors in enumerate(prototypes):
                similarity = np.sort((matrix @ vectors.T).max(axis=1))[::-1]
                features[row, index] = [similarity[0], similarity[:3].mean(), similarity.mean()]
        return features

    def prototypes(self, train: Rows, held_out: Rows, features: Matrix) -> Matrix:
        from sklearn.linear_model import LogisticRegression

        logits = np.zeros((len(held_out), self.labels.shape[1]))
        for index in range(self.labels.shape[1]):
            rows = features[train, index]
            mean, scale = rows.mean(axis=0), rows.std(axis=0) + 1e-6
            model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
            model.fit((rows - mean) / scale, self.labels[train, index])
            logits[:, index] = model.decision_function((features[held_out, index] - mean) / scale)
        return logits

    def self_trained(self, train: Rows, held_out: Rows, unlabelled: Matrix, most: int, weight: float) -> Matrix:
        """The embedding model refitted with, per frame, the ``most`` most and least confident unlabelled articles."""
        from sklearn.linear_model import LogisticRegression

        mean, scale = self.mean[train].mean(axis=0), self.mean[train].std(axis=0) + 1e-6
        known, unknown = (self.mean[train] - mean) / scale, (unlabelled - mean) / scale
        logits = np.zeros((len(held_out), self.labels.shape[1]))
        for index in range(self.labels.shape[1]):
            column = self.labels[train, index]
            first = LogisticRegression(C=0.003, class_weight="balanced", max_iter=3000).fit(known, column)
            order = np.argsort(first.decision_function(unknown))
            chosen = np.concatenate([order[-most:], order[:most]])
            second = LogisticRegression(C=0.003, class_weight="balanced", max_iter=3000).fit(
                np.vstack([known, unknown[chosen]]),
                np.concatenate([column, np.ones(most, bool), np.zeros(most, bool)]),
                sample_weight=np.concatenate([np.ones(len(column)), np.full(2 * most, weight)]),
            )
            logits[:, index] = second.decision_function((self.mean[held_out] - mean) / scale)
        return logits

    # --- the protocol

    def recipe(self, rows: Rows, models: list[Model], seed: int) -> tuple[Matrix, Matrix, Matrix]:
        """Stack weights and thresholds for ``models``, chosen on inner out-of-fold logits of ``rows`` only."""
        from sklearn.model_selection import KFold

        from lab.framing_training import (
            STACK_C_GRID,
            f1_objective,
            frame_thresholds,
            frames_decide,
            stack_apply,
            stack_fit,
        )

        frames = self.labels.shape[1]
        labels = self.labels[rows]
        folds = list(KFold(4, shuffle=True, random_state=seed).split(rows))
        logits = np.zeros((len(rows), frames * len(models)))
        for train, held_out in folds:
            for index, model in enumerate(models):
                logits[held_out, index * frames : (index + 1) * frames] = model(rows[train], rows[held_out])
        best: tuple[float, float, Matrix] | None = None
        for regularisation in STACK_C_GRID:
            probabilities = np.zeros(labels.shape)
            for train, held_out in folds:
                weights, intercept = stack_fit(logits[train], labels[train], regularisation)
                probabilities[held_out] = stack_apply(logits[held_out], weights, intercept)
            thresholds = frame_thresholds(probabilities, labels)
            objective = f1_objective(labels, frames_decide(probabilities, thresholds))
            if best is None or objective > best[0]:
                best = (objective, regularisation, thresholds)
        assert best is not None
        weights, intercept = stack_fit(logits, labels, best[1])
        return weights, intercept, best[2]

    def score(self, name: str, models: list[Model], seed: int) -> None:
        from sklearn.model_selection import KFold

        from analysis.evaluation import scores
        from lab.framing_training import frames_decide, stack_apply

        started = time.perf_counter()
        predicted = np.zeros_like(self.labels)
        for train, held_out in KFold(5, shuffle=True, random_state=seed).split(self.mean):
            weights, intercept, thresholds = self.recipe(train, models, seed)
            logits = np.hstack([model(train, held_out) for model in models])
            predicted[held_out] = frames_decide(stack_apply(logits, weights, intercept), thresholds)
        result = scores(self.labels, predicted)
        print(
            f"{name:<58} micro-F1 {result.micro_f1:.3f}  macro-F1 {result.macro_f1:.3f}"
            f"  ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )


def _frames() -> list[str]:
    from analysis.nlp.framing import FRAMES

    return FRAMES


def fine_tune_one_fold(bench: Bench, seed: int, epochs: int = 3, rate: float = 3e-5) -> None:
    """The encoder's last layer fine-tuned on one outer fold (states of the first five layers cached), then scored."""
    import torch
    from sklearn.model_selection import KFold

    from analysis.evaluation import scores
    from analysis.nlp.models import sentence_encoder
    from lab.framing_training import embedding_logits, frames_decide, sigmoid

    encoder = sentence_encoder()
    transformer, tokenizer = encoder[0].auto_model, encoder.tokenizer
    # An article with no sentence long enough is encoded from its headline, as in the pipeline.
    own_sentences = [article[1:] or article[:1] for article in bench.segments]
    sentences = [text for article in own_sentences for text in article]
    owners = np.concatenate([[row] * len(article) for row, article in enumerate(own_sentences)])
    states: list[Matrix] = [np.zeros(0)] * len(sentences)
    order = np.argsort([len(text) for text in sentences])
    with torch.no_grad():
        for start in range(0, len(order), 64):
            chosen = order[start : start + 64]
            batch = tokenizer(
                [sentences[index] for index in chosen],
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            )
            hidden = transformer(**batch, output_hidden_states=True).hidden_states[-2]
            for position, index in enumerate(chosen):
                states[index] = hidden[position, : int(batch["attention_mask"][position].sum())].numpy()
    by_article = [np.where(owners == row)[0] for row in range(len(bench.segments))]

    def vectors_of(layer: Any, sentence_ids: Matrix) -> Any:
        longest = max(len(states[index]) for index in sentence_ids)
        hidden = torch.zeros(len(sentence_ids), longest, states[0].shape[1])
        mask = torch.zeros(len(sentence_ids), longest)
        for position, index in enumerate(sentence_ids):
            hidden[position, : len(states[index])] = torch.tensor(states[index])
            mask[position, : len(states[index])] = 1
        output = layer(hidden, attention_mask=(1.0 - mask)[:, None, None, :] * -1e4)
        output = output[0] if isinstance(output, tuple) else output
        pooled = (output * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return torch.nn.functional.normalize(pooled, dim=1)

    def article_means(layer: Any, rows: Rows) -> Matrix:
        with torch.no_grad():
            return np.vstack([vectors_of(layer, by_article[row]).mean(0).numpy() for row in rows]).astype(np.float64)

    frozen = transformer.encoder.layer[-1].eval()
    train, held_out = next(iter(KFold(5, shuffle=True, random_state=seed).split(bench.mean)))
    torch.manual_seed(seed)
    generator = np.random.default_rng(seed)
    layer = copy.deepcopy(frozen).train()
    centre = torch.tensor(bench.mean[train].mean(0), dtype=torch.float32)
    spread = torch.tensor(bench.mean[train].std(0) + 1e-6, dtype=torch.float32)
    head = torch.nn.Linear(bench.mean.shape[1], bench.labels.shape[1])
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    targets = torch.tensor(bench.labels, dtype=torch.float32)
    positives = targets[train].sum(0)
    loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=(len(train) - positives) / positives.clamp(min=1))
    optimiser = torch.optim.AdamW(
        [{"params": layer.parameters(), "lr": rate}, {"params": head.parameters(), "lr": 3e-3}], weight_decay=0.01
    )
    for epoch in range(epochs):
        started = time.perf_counter()
        shuffled = generator.permutation(train)
        for start in range(0, len(shuffled), 8):
            rows = shuffled[start : start + 8]
            sentence_ids = np.concatenate([by_article[row] for row in rows])
            owner = torch.tensor(
                np.concatenate([[position] * len(by_article[row]) for position, row in enumerate(rows)])
            )
            vectors = vectors_of(layer, sentence_ids)
            means = torch.zeros(len(rows), vectors.shape[1]).index_add_(0, owner, vectors)
            means = means / torch.bincount(owner, minlength=len(rows))[:, None]
            loss = loss_of(head((means - centre) / spread), targets[torch.tensor(rows)])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        print(f"  epoch {epoch + 1}: {time.perf_counter() - started:.0f} s", flush=True)
    layer.eval()
    for name, chosen_layer in (("frozen encoder", frozen), ("last layer fine-tuned", layer)):
        logits = embedding_logits(
            article_means(chosen_layer, train), bench.labels[train], 0.003, article_means(chosen_layer, held_out)
        )
        predicted = frames_decide(sigmoid(logits), np.full(bench.labels.shape[1], 0.5))
        result = scores(bench.labels[held_out], predicted)
        print(
            f"{'one fold, threshold 0.5: ' + name:<58} micro-F1 {result.micro_f1:.3f}  macro-F1 {result.macro_f1:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path, help="JSONL with title, text and gold_frames.")
    parser.add_argument("--only", default=",".join(DEFAULT_VARIANTS), help=f"Comma-separated, from {VARIANTS}.")
    parser.add_argument("--unlabelled", type=Path, nargs="*", default=[], help="Corpus JSONL files for 'self'.")
    parser.add_argument("--cache", type=Path, help="A folder to keep the encoded sentences in.")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    variants = [name for name in arguments.only.split(",") if name]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")

    import django

    django.setup()
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    from analysis.evaluation import LabelledArticle, labelled_read

    articles = list(labelled_read(arguments.path))
    cache = arguments.cache / f"{arguments.path.stem}.npz" if arguments.cache else None
    bench = Bench(*sentence_vectors(articles, cache), articles)
    seed = arguments.seed
    embedding, lexical = bench.embedding, bench.lexical
    print(f"{len(articles)} articles; nested 5-fold, outer seed {seed}")
    if "reference" in variants:
        bench.score("reference: embedding + lexical", [embedding, lexical], seed)
    if "mil" in variants:
        for sharpness in (0.5, 2.0, 5.0):
            for decay in (1e-3, 1e-2):
                model = partial(bench.sentence_pooled, sharpness=sharpness, decay=decay)
                bench.score(f"sentence-pooled (sharpness {sharpness}, decay {decay}) alone", [model], seed)
        for sharpness in (2.0, 5.0):
            model = partial(bench.sentence_pooled, sharpness=sharpness)
            bench.score(
                f"embedding + lexical + sentence-pooled (sharpness {sharpness})", [embedding, lexical, model], seed
            )
    if "char" in variants:
        bench.score("lexical (words) alone", [lexical], seed)
        bench.score("characters alone", [bench.characters], seed)
        bench.score("embedding + lexical + characters", [embedding, lexical, bench.characters], seed)
        bench.score("embedding + characters (C 10)", [embedding, bench.characters], seed)
        bench.score("embedding + characters (C 3)", [embedding, partial(bench.characters, c=3.0)], seed)
    if "fulltext" in variants:
        whole = partial(lexical, whole_text=True)
        bench.score("lexical over the whole text alone", [whole], seed)
        bench.score("embedding + lexical over the whole text", [embedding, whole], seed)
    if "prototypes" in variants:
        model = partial(bench.prototypes, features=bench.prototype_features())
        bench.score("frame prototypes alone", [model], seed)
        bench.score("embedding + lexical + frame prototypes", [embedding, lexical, model], seed)
    if "self" in variants:
        if not arguments.unlabelled:
            parser.error("'self' needs --unlabelled files")
        others = [
            LabelledArticle(title=str(record.get("title") or ""), text=str(record.get("text") or ""), frames=[])
            for path in arguments.unlabelled
            for record in map(json.loads, filter(str.strip, path.read_text(encoding="utf-8").splitlines()))
        ]
        other_cache = arguments.cache / "unlabelled.npz" if arguments.cache else None
        matrices, _segments = sentence_vectors(others, other_cache)
        unlabelled = np.vstack([matrix.mean(axis=0) for matrix in matrices]).astype(np.float64)
        print(f"{len(others)} unlabelled articles")
        bench.score("embedding alone", [embedding], seed)
        for most, weight in ((30, 0.5), (100, 0.5), (300, 0.3)):
            model = partial(bench.self_trained, unlabelled=unlabelled, most=most, weight=weight)
            bench.score(f"self-trained embedding (k {most}, weight {weight}) alone", [model], seed)
            bench.score(f"self-trained embedding (k {most}, weight {weight}) + lexical", [model, lexical], seed)
    if "finetune" in variants:
        fine_tune_one_fold(bench, seed)


if __name__ == "__main__":
    main()
