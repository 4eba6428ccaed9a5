"""An ONNX Runtime copy of the MiniLM sentence-transformer for queries: the same weights and the
same vectors (checked at export), about a third of the latency, and no torch at query time.

The copy is exported once from the sentence-transformers model (transformer, mean pooling,
normalisation in one graph) into the model cache directory and reused by every process.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
MAX_DIFFERENCE = 1e-4
PROBES = (
    "What is the maximum discount?",
    "Reply STOP to opt out. " * 20,
    "Ünïcode, emoji 🚀 and numbers: 25% off $1,200.",
)


class OnnxSentenceEncoder:
    """Tokenizes with the model's own fast tokenizer and runs the exported graph."""

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self._session = session
        self._tokenizer = tokenizer

    @classmethod
    def load(cls, onnx_file: Path, tokenizer_file: Path, *, max_length: int, threads: int = 0):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.enable_truncation(max_length)
        tokenizer.enable_padding()
        return cls(session, tokenizer)

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)


def exportable(model: Any) -> bool:
    """True for a plain transformer, mean pooling, normalisation pipeline (what MiniLM is)."""
    names = [type(module).__name__ for module in model]
    if names != ["Transformer", "Pooling", "Normalize"]:
        return False
    pooling = model[1]
    mode = getattr(pooling, "pooling_mode", None) or getattr(
        pooling, "pooling_mode_mean_tokens", None
    )
    return mode in {"mean", True}


def export(model: Any, target: Path, tokenizer_file: Path) -> None:
    """Export the model's graph to target, atomically, after checking it gives the same vectors."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self, transformer: Any) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    wrapped = MeanPooled(model[0].auto_model).eval()
    sample = model[0].tokenizer(["a sample query"], return_tensors="pt")
    args = (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"])
    axes = {
        "input_ids": {0: "batch", 1: "tokens"},
        "attention_mask": {0: "batch", 1: "tokens"},
        "token_type_ids": {0: "batch", 1: "tokens"},
        "embedding": {0: "batch"},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, staging_name = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=target.parent)
    os.close(handle)
    staging = Path(staging_name)
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped,
                args,
                staging,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        copy = OnnxSentenceEncoder.load(staging, tokenizer_file, max_length=model.max_seq_length)
        expected = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
        difference = float(np.abs(copy.encode(list(PROBES)) - expected).max())
        if difference > MAX_DIFFERENCE:
            raise ValueError(f"the ONNX copy differs from the model by {difference:.2e}")
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)
