"""Character n-gram features, hashed: the cheap second opinion next to the embeddings.

Robust to typos, leetspeak and slang that a sentence model tokenises badly, and fast
(tens of microseconds a message), so it can also triage under load. Pure Python and
numpy; the hash is crc32, so features are stable across processes and Python versions
(the built-in `hash` is salted per process).
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections.abc import Sequence

import numpy as np

BUCKETS = 1 << 17
NGRAM_SIZES = (2, 3, 4, 5)
_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"(.)\1{2,}")


def canonical(text: str) -> str:
    """Casefolded, accent-free, runs of 3+ repeated characters squeezed to 2, spaces folded."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _SPACES.sub(" ", _REPEATS.sub(r"\1\1", stripped)).strip()


def features(text: str) -> dict[int, float]:
    """Bucket -> weight: sublinear counts of char n-grams within word boundaries, and
    of words and word pairs, L2-normalised.

    On the event loop for every message under overload (triage), so written for speed:
    ASCII text (most chat) is sliced as bytes, which hashes the same as encoding each
    slice."""
    text = canonical(text)
    if not text:
        return {}
    padded = f" {text} "
    crc32 = zlib.crc32
    counts: dict[int, int] = {}
    get = counts.get
    raw = padded.encode()
    if len(raw) == len(padded):  # ASCII: byte slices are the characters' slices
        for n in NGRAM_SIZES:
            for i in range(len(raw) - n + 1):
                key = crc32(raw[i : i + n]) % BUCKETS
                counts[key] = get(key, 0) + 1
    else:
        for n in NGRAM_SIZES:
            for i in range(len(padded) - n + 1):
                key = crc32(padded[i : i + n].encode()) % BUCKETS
                counts[key] = get(key, 0) + 1
    words = padded.split()
    for i, word in enumerate(words):
        key = crc32(b"w:" + word.encode()) % BUCKETS
        counts[key] = get(key, 0) + 1
        if i:
            key = crc32(f"b:{words[i - 1]} {word}".encode()) % BUCKETS
            counts[key] = get(key, 0) + 1
    if not counts:
        return {}
    log = math.log
    weights = {k: 1.0 + log(v) for k, v in counts.items()}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {k: w / norm for k, w in weights.items()}


def matrix(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR parts (data, indices, indptr) for a batch, for scipy or for `sparse_dot`."""
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for text in texts:
        row = features(text)
        for k in sorted(row):
            indices.append(k)
            data.append(row[k])
        indptr.append(len(indices))
    return np.asarray(data, np.float32), np.asarray(indices, np.int32), np.asarray(indptr, np.int64)


def sparse_dot(texts: Sequence[str], weights: np.ndarray) -> np.ndarray:
    """(len(texts), classes) = features(texts) @ weights, without scipy at run time."""
    out = np.zeros((len(texts), weights.shape[1]), dtype=np.float32)
    for i, text in enumerate(texts):
        row = features(text)
        if row:
            keys = np.fromiter(row.keys(), np.int64, len(row))
            vals = np.fromiter(row.values(), np.float32, len(row))
            out[i] = vals @ weights[keys]
    return out
