"""Tone toward a target: the encoder's top layer fine-tuned (from cached states) against the frozen head.

    .venv/bin/python lab/bench/tone_top_layer.py EPOCHS LEARNING_RATE   (from the repository root)

What the tone card's "top layer" rows come from. Reads ../shared/data/tone/newsmtsc_train.jsonl
with lab.train_tone's blocks: block 0 is the trainer's untouched fifth and is never read here;
block 1 is the dev part, blocks 2-4 train. Caches the token states entering the top layer in
var/tone_states5.npz (a few minutes, once). Prints the frozen head's dev macro-F1 (the shipped
design: balanced logistic regression, C 0.1, over the sentence and target means of the last
layer) and the fine-tuned model's after each epoch. Single-threaded (the CPUs are shared).
"""

import copy
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from lab.environment import django_setup
from lab.train_tone import BLOCK, HELD_OUT, sentence_number

django_setup()
from analysis.nlp.models import sentence_encoder  # noqa: E402 (needs Django set up)

torch.set_num_threads(1)
torch.manual_seed(0)
LABELS = ("negative", "neutral", "positive")
rows = [json.loads(line) for line in Path("../shared/data/tone/newsmtsc_train.jsonl").read_text().splitlines()]
block = np.array([(sentence_number(r["id"]) // BLOCK) % HELD_OUT for r in rows])
y = np.array([LABELS.index(r["gold_polarity"]) for r in rows])
fit = np.flatnonzero(block >= 2)
dev = np.flatnonzero(block == 1)  # block 0 is the untouched fifth: never read
enc = sentence_encoder()
tok = enc.tokenizer
net = enc[0].auto_model.eval()
if os.path.exists("var/tone_states5.npz"):
    d = np.load("var/tone_states5.npz")
    S, off, last, tmask = d["S"], d["off"], d["last"], d["tmask"]
else:
    t0 = time.perf_counter()
    St = [None] * len(rows)
    Lt = [None] * len(rows)
    Mt = [None] * len(rows)
    order = np.argsort([len(r["sentence"]) for r in rows])
    with torch.inference_mode():
        for s in range(0, len(rows), 64):
            idx = order[s : s + 64]
            b = tok(
                [rows[i]["sentence"] for i in idx],
                truncation=True,
                max_length=128,
                padding=True,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            om = b.pop("offset_mapping").numpy()
            o = net(**b, output_hidden_states=True)
            for j, i in enumerate(idx):
                L = int(b["attention_mask"][j].sum())
                offs = om[j, :L]
                real = offs[:, 1] > offs[:, 0]
                ins = real & (offs[:, 0] < rows[i]["target_end"]) & (offs[:, 1] > rows[i]["target_start"])
                if not ins.any():
                    ins = real
                St[i] = o.hidden_states[5][j, :L].numpy().astype(np.float16)
                Lt[i] = o.last_hidden_state[j, :L].numpy().astype(np.float16)
                Mt[i] = np.stack([real, ins], 1)
            if s % 1280 == 0:
                print("enc", s, time.perf_counter() - t0, flush=True)
    off = np.cumsum([0, *[len(x) for x in St]])
    S = np.concatenate(St)
    last = np.concatenate(Lt)
    tmask = np.concatenate(Mt)
    np.savez("var/tone_states5.npz", S=S, off=off, last=last, tmask=tmask)


def pooled(hidden, i):
    h = hidden[off[i] : off[i + 1]].astype(np.float32)
    m = tmask[off[i] : off[i + 1]]
    return np.concatenate([h[m[:, 0]].mean(0), h[m[:, 1]].mean(0)])


F = np.vstack([pooled(last, i) for i in range(len(rows))])
lr = LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced").fit(F[fit], y[fit])
p = lr.predict(F[dev])
print(
    f"frozen head: dev macro-F1 {f1_score(y[dev], p, average='macro'):.3f} acc {(p == y[dev]).mean():.3f}", flush=True
)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = copy.deepcopy(net.encoder.layer[5])
        self.head = torch.nn.Linear(768, 3)

    def forward(self, x, m, sm, tm):
        o = self.layer(x, attention_mask=(1.0 - m[:, None, None, :]) * -1e4)
        o = o[0] if isinstance(o, tuple) else o
        a = (o * sm[..., None]).sum(1) / sm.sum(1, keepdim=True).clamp(min=1)
        b = (o * tm[..., None]).sum(1) / tm.sum(1, keepdim=True).clamp(min=1)
        return self.head(torch.cat([a, b], -1))


def batch(idx):
    longest = max(off[i + 1] - off[i] for i in idx)
    x = torch.zeros(len(idx), longest, 384)
    m = torch.zeros(len(idx), longest)
    sm = torch.zeros(len(idx), longest)
    tm = torch.zeros(len(idx), longest)
    for j, i in enumerate(idx):
        n = off[i + 1] - off[i]
        x[j, :n] = torch.from_numpy(S[off[i] : off[i + 1]].astype(np.float32))
        m[j, :n] = 1
        mm = torch.from_numpy(tmask[off[i] : off[i + 1]].astype(np.float32))
        sm[j, :n] = mm[:, 0]
        tm[j, :n] = mm[:, 1]
    return x, m, sm, tm


epochs = int(sys.argv[1])
rate = float(sys.argv[2])
model = Net()
opt = torch.optim.AdamW(
    [{"params": model.layer.parameters(), "lr": rate}, {"params": model.head.parameters(), "lr": 2e-3}],
    weight_decay=0.01,
)
steps = epochs * ((len(fit) + 31) // 32)
sch = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[rate, 2e-3], total_steps=steps, pct_start=0.1)
w = torch.tensor(len(fit) / (3 * np.bincount(y[fit])), dtype=torch.float32)
rng = np.random.default_rng(0)
for e in range(epochs):
    model.train()
    t0 = time.perf_counter()
    perm = rng.permutation(fit)
    bs = []
    for k in range(0, len(perm), 1600):
        c = sorted(perm[k : k + 1600], key=lambda i: off[i + 1] - off[i])
        bs += [c[q : q + 32] for q in range(0, len(c), 32)]
    rng.shuffle(bs)
    for b in bs:
        loss = torch.nn.functional.cross_entropy(model(*batch(b)), torch.tensor(y[b]), weight=w)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sch.step()
    model.eval()
    pr = []
    with torch.inference_mode():
        for k in range(0, len(dev), 128):
            pr.append(model(*batch(dev[k : k + 128])).argmax(-1).numpy())
    p = np.concatenate(pr)
    print(
        f"top layer epoch {e + 1} ({time.perf_counter() - t0:.0f}s): "
        f"dev macro-F1 {f1_score(y[dev], p, average='macro'):.3f} acc {(p == y[dev]).mean():.3f}",
        flush=True,
    )
