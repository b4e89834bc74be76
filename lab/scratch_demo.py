"""Scratch: the demo corpus through the analysis (not committed)."""

from __future__ import annotations

import json

from lab.environment import django_setup

django_setup()
from analysis.models import tone_label_of  # noqa: E402
from analysis.nlp.article import ArticleText  # noqa: E402
from analysis.services import analyser  # noqa: E402

records = [json.loads(line) for line in open("newsroom/demo/articles.jsonl", encoding="utf-8") if line.strip()]
features = analyser().analyse([ArticleText(title=r["title"], text=r.get("text") or "") for r in records])
for record, feature in zip(records, features, strict=True):
    shown = [f["frame"][:12] for f in feature.frames if f.get("shown", True)]
    hidden = [f["frame"][:12] for f in feature.frames if not f.get("shown", True)]
    actors = [(a["actor"], a["label"]) for a in feature.actor_tones]
    print(f"{record['title'][:70]:<70} | {tone_label_of(feature.tone)} {feature.tone:+.2f} | shown {shown} hidden {hidden} | loaded {len(feature.loaded_sentences)} | {actors[:3]}")
