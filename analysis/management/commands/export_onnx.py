from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Export the sentence encoder and the cross-encoders (Ask's answer model, the same-claim model) to "
        "ONNX in NEWSROOM_ENCODER_ONNX_DIR, for NEWSROOM_ENCODER_BACKEND=onnx (with Ask's 8-bit copy of the "
        "encoder for questions when NEWSROOM_ASK_INT8 is on). Run it before the workers "
        "start: a worker that finds the graphs never loads PyTorch, one that exports them itself keeps it "
        "loaded (about 250 MiB more). Graphs already there are kept."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from analysis.nlp.answer_cross import answer_cross_encoder
        from analysis.nlp.encoder import text_encoder
        from analysis.nlp.same_claim import same_claim_model

        if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
            raise CommandError("ONNX Runtime is not installed: run `make onnx` (requirements/onnx.txt) first.")
        model, directory = settings.NEWSROOM_EMBEDDING_MODEL, settings.NEWSROOM_ENCODER_ONNX_DIR
        before = set(Path(directory).glob("*.onnx"))
        try:
            text_encoder(model, "onnx", directory)
            # Ask's 8-bit copy for questions (NEWSROOM_ASK_INT8), quantised from the graph just exported.
            text_encoder(model, "onnx", directory, int8=settings.NEWSROOM_ASK_INT8)
            if settings.NEWSROOM_ASK_CROSS_ENCODER != "off":
                answer_cross_encoder(settings.NEWSROOM_ASK_CROSS_ENCODER, model, "onnx", directory)
            same_claim = same_claim_model(
                settings.NEWSROOM_SAME_CLAIM_MODEL, settings.NEWSROOM_SAME_CLAIM_CROSS_ENCODER, model, "onnx", directory
            )
        except (OSError, ValueError) as error:
            raise CommandError(f"Could not export to ONNX: {error}") from error
        if same_claim.cross is None and settings.NEWSROOM_SAME_CLAIM_CROSS_ENCODER != "off":
            self.stderr.write("The same-claim cross-encoder did not load (see the log): its graph was not exported.")
        for path in sorted(Path(directory).glob("*.onnx")):
            state = "exported" if path not in before else "already there"
            self.stdout.write(f"{path} ({path.stat().st_size / 2**20:.0f} MiB, {state})")
