"""Encyclopedia-style Ask sets from paragraphs and questions written for this project (issue 20).

The owners measure Ask on held-out questions over encyclopedia paragraphs imported as a corpus:
each article a story, each paragraph an outlet's article. This builds the same shape from our own
writing (``lab/data/encyclopedia/*.jsonl``: paragraphs, questions with the span that answers each,
and questions on the topic that the article does not answer), so the rules can be measured on
that kind of text without reading the owners' set.

    python -m lab.ask_encyclopedia lab/data/encyclopedia/*.jsonl --out var/encyclopedia

writes, for each split (``tune``: the first two articles of each file; ``untouched``: the rest),
``<split>_corpus.jsonl`` for ``evaluate_ask --corpus`` and ``<split>_questions.jsonl``. Each
paragraph also gets one question about another article of the same split (off the topic: it must
be refused), as the owners' set has one per paragraph.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUTLETS = ("Almanac", "Compendium", "Gazetteer", "Lexicon", "Reference")


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def rows_read(paths: list[Path]) -> dict[str, list[str]]:
    """The articles of each file, in order."""
    by_file: dict[str, list[str]] = {}
    for path in paths:
        titles: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                title = json.loads(line)["article"]
                if title not in titles:
                    titles.append(title)
        by_file[str(path)] = titles
    return by_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("var/encyclopedia"))
    parser.add_argument("--tune-articles", type=int, default=2, help="Articles of each file in the tuning split.")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    split_of: dict[str, str] = {}
    for titles in rows_read(args.paths).values():
        for position, title in enumerate(titles):
            split_of[title] = "tune" if position < args.tune_articles else "untouched"
    paragraphs: dict[str, dict[int, str]] = defaultdict(dict)
    questions: dict[str, list[dict[str, object]]] = defaultdict(list)
    for path in args.paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            title = row["article"]
            if row["type"] == "paragraph":
                paragraphs[title][int(row["index"])] = row["text"]
            elif row["type"] == "question":
                text = paragraphs[title][int(row["paragraph"])]
                if row["answer"] not in text:
                    raise SystemExit(f"{path}: the answer {row['answer']!r} is not in {title} {row['paragraph']}")
                questions[title].append(
                    {"url": f"{title}|{row['paragraph']}", "question": row["question"], "answer": row["answer"]}
                )
            elif row["type"] == "related_only":
                questions[title].append({"url": f"{title}|1", "question": row["question"], "related_only": True})
            elif row["type"] == "near_miss":
                # On one sentence's topic, sharing its words, but not answered (lab/data/ask_near_miss/).
                questions[title].append(
                    {"url": f"{title}|{row['paragraph']}", "question": row["question"], "related_only": True}
                )
    start = datetime(2024, 3, 4, 9, tzinfo=UTC)
    for split in ("tune", "untouched"):
        titles = [title for title in paragraphs if split_of[title] == split]
        corpus, asked = [], []
        urls: dict[str, str] = {}
        for number, title in enumerate(titles):
            for index, text in sorted(paragraphs[title].items()):
                outlet = OUTLETS[(index - 1) % len(OUTLETS)]
                url = f"https://{slug(outlet)}.encyclopedia.test/{slug(title)}/{index}"
                urls[f"{title}|{index}"] = url
                corpus.append(
                    {
                        "url": url,
                        "outlet": outlet,
                        "outlet_domain": f"{slug(outlet)}.encyclopedia.test",
                        "title": title,
                        "text": text,
                        "published_at": (start + timedelta(days=3 * number, hours=index)).isoformat(),
                        "language": "en",
                        "gold_story": slug(title),
                    }
                )
        chooser = random.Random(20)  # the same off-topic questions every run
        for title in titles:
            for row in questions[title]:
                asked.append({**row, "url": urls[str(row["url"])]})
            others = [row for other in titles if other != title for row in questions[other] if "answer" in row]
            for index in sorted(paragraphs[title]):
                other = chooser.choice(others)
                asked.append({"url": urls[f"{title}|{index}"], "question": other["question"], "unanswerable": True})
        for name, rows in (("corpus", corpus), ("questions", asked)):
            with (args.out / f"{split}_{name}.jsonl").open("w", encoding="utf-8") as file:
                file.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        print(f"{split}: {len(titles)} articles, {len(corpus)} paragraphs, {len(asked)} questions -> {args.out}")


if __name__ == "__main__":
    main()
