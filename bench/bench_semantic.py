"""The semantic layer's figures: throughput, and the learning curve on the blind set.

    python -m bench.bench_semantic [--curve] [--seconds 10]

Throughput: messages/s on one core (OMP_NUM_THREADS=1, one thread), one message per call
and in batches of 16, on ~90-character chat messages. Learning curve (--curve): the
model trained (with its own cross-validated thresholds) on 25, 50 and 100% of the
training corpus, each scored combined with the lexicon on the blind set. This is a
measurement for the release note: nothing here is chosen by looking at the blind set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from bench.bench_detector import CLEAN, FLAGGED  # noqa: E402


def throughput(seconds: float) -> dict[str, float]:
    from moderation.semantic import load_semantic

    detector = load_semantic(threads=1)
    messages = [*CLEAN, *FLAGGED]
    detector.detect(messages[:2])
    out: dict[str, float] = {}
    for label, batch in (("single", 1), ("batch16", 16)):
        rates = []
        for _ in range(3):
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds / 3:
                texts = [messages[(done + i) % len(messages)] for i in range(batch)]
                detector.detect(texts)
                done += batch
            rates.append(done / (time.perf_counter() - started))
        out[label] = statistics.median(rates)
    return out


def learning_curve() -> list[dict[str, object]]:
    from moderation.detector import scan
    from moderation.semantic.combine import combine
    from moderation.semantic.corpus import BLIND_FILE, LABELS, load, load_training
    from moderation.semantic.embedder import load_embedder
    from moderation.semantic.model import SemanticModel
    from moderation.semantic.report import figures
    from moderation.semantic.train import SEED, embed_cached, fit

    examples = load_training()
    blind = load(BLIND_FILE)
    embedder = load_embedder(threads=2)
    train_vectors = embed_cached(embedder, [e.text for e in examples])
    blind_vectors = embed_cached(embedder, [e.text for e in blind])
    lexical = [scan(e.text) for e in blind]
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(examples))
    labels = np.array([LABELS.index(e.severity) for e in examples])
    rows = []
    for share in (0.25, 0.5, 1.0):
        # stratified: the same share of each severity
        chosen = np.concatenate(
            [order[labels[order] == k][: int(round(share * (labels == k).sum()))] for k in range(len(LABELS))]
        )
        subset = [examples[i] for i in chosen]
        fitted = fit(subset, train_vectors[chosen])
        model = SemanticModel(
            version="curve",
            meta=fitted.meta,
            embed_coef=fitted.arrays["embed_coef"],
            embed_bias=fitted.arrays["embed_bias"],
            ngram_coef=fitted.arrays["ngram_coef"].astype(np.float32),
            ngram_bias=fitted.arrays["ngram_bias"],
            category_coef=fitted.arrays["category_coef"],
            category_bias=fitted.arrays["category_bias"],
            embed_weight=float(fitted.meta["embed_weight"]),  # type: ignore[arg-type]
            threshold_risk=float(fitted.meta["thresholds"]["risk"]),  # type: ignore[index]
            threshold_high=float(fitted.meta["thresholds"]["high"]),  # type: ignore[index]
            threshold_triage=float(fitted.meta["thresholds"]["triage"]),  # type: ignore[index]
        )
        scores = model.score(blind_vectors, [e.text for e in blind])
        verdicts = [combine(lex, s) for lex, s in zip(lexical, scores, strict=True)]
        rows.append({"share": share, "examples": len(subset), **figures(blind, verdicts).as_dict()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=9.0)
    parser.add_argument("--curve", action="store_true", help="also train at 25/50/100%% (needs the train extra)")
    args = parser.parse_args()
    rates = throughput(args.seconds)
    print(
        f"semantic layer, one core: {rates['single']:.1f} msg/s single, {rates['batch16']:.1f} msg/s in batches of 16"
    )
    if args.curve:
        print("learning curve (combined with the lexicon, on the blind set):")
        for row in learning_curve():
            print(
                f"  {row['share']:>4.0%} ({row['examples']} messages): high {row['recall_high_any']:.1%} "
                f"(as high {row['recall_high_as_high']:.1%}), medium {row['recall_medium']:.1%}, "
                f"false alarms {row['false_alarms']:.1%}"
            )


if __name__ == "__main__":
    main()
