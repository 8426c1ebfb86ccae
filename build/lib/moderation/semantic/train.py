"""``python -m moderation train``: fit the semantic model on the labelled corpus, reproducibly.

Seeded five-fold cross-validation on the training corpus gives out-of-fold scores; from
them come the blend weight of the two heads and the two thresholds, each at a stated
false-alarm level on the corpus's clean messages. Then every head is refitted on the
whole corpus and written, with the corpus's sha256, to ``moderation/model/``. The blind
set is never read here.

Needs scikit-learn and scipy (the `train` extra); scoring at run time needs only numpy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..detection import CATEGORIES
from . import ngrams
from .corpus import LABELS, Example, fingerprint, load_training
from .embedder import Embedder, load_embedder
from .model import ARTIFACT_JSON, ARTIFACT_WEIGHTS

SEED = 20261203
FOLDS = 5
#: Share of the corpus's clean ("none") messages the model alone may flag (any severity).
RISK_FALSE_ALARMS = 0.04
#: Share of clean and low messages the model may call high (holds it from peers and pages).
HIGH_FALSE_ALARMS = 0.02
#: Share of risky messages the n-gram triage may wave through when the model is overloaded.
TRIAGE_MISS = 0.02
EMBED_C, NGRAM_C, CATEGORY_C = 16.0, 32.0, 4.0
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.6, 0.75, 1.0)
CACHE_DIR = Path("var") / "embedding-cache"


def embed_cached(embedder: Embedder, texts: Sequence[str], cache_dir: Path = CACHE_DIR) -> np.ndarray:
    """Embeddings, cached on disk by (model, text) hash: retraining should not re-embed."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    keys = [hashlib.sha1(f"{embedder.name}\0{t}".encode()).hexdigest() for t in texts]
    path = cache_dir / (hashlib.sha1(embedder.name.encode()).hexdigest()[:12] + ".npz")
    cache: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as stored:
            cache = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    missing = [i for i, k in enumerate(keys) if k not in cache]
    for start in range(0, len(missing), 64):
        batch = missing[start : start + 64]
        for i, vector in zip(batch, embedder.embed([texts[i] for i in batch]), strict=True):
            cache[keys[i]] = vector
    if missing:
        np.savez(path, keys=np.array(list(cache)), vectors=np.stack(list(cache.values())))
    return np.stack([cache[k] for k in keys]).astype(np.float32)


def ngram_matrix(texts: Sequence[str]):  # type: ignore[no-untyped-def]
    from scipy.sparse import csr_matrix

    data, indices, indptr = ngrams.matrix(texts)
    return csr_matrix((data, indices, indptr), shape=(len(texts), ngrams.BUCKETS))


def _lr(c: float):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=SEED)


def _full_proba(model, X, classes: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """predict_proba with a column for every class, even one missing from a fold."""
    out = np.zeros((X.shape[0], classes))
    out[:, model.classes_] = model.predict_proba(X)
    return out


@dataclass
class Fitted:
    meta: dict[str, object]
    arrays: dict[str, np.ndarray]


def fit(examples: Sequence[Example], embeddings: np.ndarray, *, cross_validate: bool = True) -> Fitted:
    """Fit all heads; with cross_validate, choose blend and thresholds on out-of-fold scores."""
    from sklearn.model_selection import StratifiedKFold

    texts = [e.text for e in examples]
    y = np.array([LABELS.index(e.severity) for e in examples])
    X_ngram = ngram_matrix(texts)
    k = len(LABELS)
    meta: dict[str, object] = {}
    blend, t_risk, t_high, t_triage = 0.6, 0.5, 0.5, 0.05
    if cross_validate:
        oof_e, oof_n = np.zeros((len(y), k)), np.zeros((len(y), k))
        for train_idx, test_idx in StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(texts, y):
            head = _lr(EMBED_C).fit(embeddings[train_idx], y[train_idx])
            oof_e[test_idx] = _full_proba(head, embeddings[test_idx], k)
            head = _lr(NGRAM_C).fit(X_ngram[train_idx], y[train_idx])
            oof_n[test_idx] = _full_proba(head, X_ngram[test_idx], k)
        clean = y == LABELS.index("none")
        risky = y >= LABELS.index("medium")
        best = None
        for w in BLEND_WEIGHTS:
            p = w * oof_e + (1 - w) * oof_n
            risk = p[:, 2] + p[:, 3]
            threshold = float(np.quantile(risk[clean], 1 - RISK_FALSE_ALARMS))
            recall = float((risk[risky] >= threshold).mean())
            if best is None or recall > best[0]:
                best = (recall, w, threshold)
        assert best is not None
        _, blend, t_risk = best
        p = blend * oof_e + (1 - blend) * oof_n
        not_high = y <= LABELS.index("low")
        t_high = max(float(np.quantile(p[not_high, 3], 1 - HIGH_FALSE_ALARMS)), t_risk / 2)
        risk = p[:, 2] + p[:, 3]
        # Triage under overload: below this n-gram risk, 98% of risky messages never fall.
        t_triage = float(np.quantile((oof_n[:, 2] + oof_n[:, 3])[risky], TRIAGE_MISS))
        high = y == LABELS.index("high")
        medium = y == LABELS.index("medium")
        meta["cross_validation"] = {
            "folds": FOLDS,
            "recall_high_any": round(float((risk[high] >= t_risk).mean()), 4),
            "recall_high_as_high": round(float((p[high, 3] >= t_high).mean()), 4),
            "recall_medium": round(float((risk[medium] >= t_risk).mean()), 4),
            "false_alarms": round(float((risk[clean] >= t_risk).mean()), 4),
        }
    embed_head = _lr(EMBED_C).fit(embeddings, y)
    ngram_head = _lr(NGRAM_C).fit(X_ngram, y)
    flagged = y >= LABELS.index("low")
    cat_y = np.array([CATEGORIES.index(e.category) for e in examples if e.category is not None])
    cat_head = _lr(CATEGORY_C).fit(embeddings[flagged], cat_y)
    category_coef = np.zeros((len(CATEGORIES), embeddings.shape[1]))
    category_bias = np.full(len(CATEGORIES), -1e4)
    category_coef[cat_head.classes_] = cat_head.coef_
    category_bias[cat_head.classes_] = cat_head.intercept_
    meta.update(
        {
            "embed_weight": blend,
            "thresholds": {"risk": round(t_risk, 6), "high": round(t_high, 6), "triage": round(t_triage, 6)},
            "false_alarm_targets": {"risk": RISK_FALSE_ALARMS, "high": HIGH_FALSE_ALARMS},
            "examples": len(examples),
            "labels": list(LABELS),
        }
    )
    arrays = {
        "embed_coef": embed_head.coef_.astype(np.float32),
        "embed_bias": embed_head.intercept_.astype(np.float32),
        "ngram_coef": ngram_head.coef_.T.astype(np.float16),
        "ngram_bias": ngram_head.intercept_.astype(np.float32),
        "category_coef": category_coef.astype(np.float32),
        "category_bias": category_bias.astype(np.float32),
    }
    return Fitted(meta, arrays)


def train(model_dir: str | None = None, out_json: Path = ARTIFACT_JSON, out_weights: Path = ARTIFACT_WEIGHTS) -> dict:
    examples = load_training()
    embedder = load_embedder(model_dir, threads=2)
    embeddings = embed_cached(embedder, [e.text for e in examples])
    fitted = fit(examples, embeddings)
    data_hash = fingerprint()
    meta = {
        "version": f"semantic-{data_hash[:10]}",
        "data_sha256": data_hash,
        "embedder": embedder.name,
        "seed": SEED,
        **fitted.meta,
    }
    out_json.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_weights, **fitted.arrays)  # type: ignore[arg-type]
    out_json.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return meta
