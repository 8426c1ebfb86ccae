"""The combined detector: lexicon and semantic model, batched and synchronous.

`SemanticDetector.detect(texts, contexts)` scans each text with the lexicon, scores it
with the model alone and, when a context is given (the author's recent unflagged lines
in the room), scores the context and the text together, so that a plan split over
several short lines is seen. The strongest verdict wins. It blocks for the model's time
(tens of milliseconds a message on one core): a server runs it off its event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..detection import Detection
from ..detector import Detector
from ..detector import scan as lexicon_scan
from .combine import combine, strongest
from .embedder import load_embedder
from .model import ARTIFACT_JSON, ARTIFACT_WEIGHTS, ModelScore, Scorer, SemanticModel


class ModelUnavailable(RuntimeError):
    """The semantic model could not be loaded or run; the lexicon alone still works."""


class SemanticDetector:
    def __init__(self, scorer: Scorer, lexical: Detector | None = None) -> None:
        self._scorer = scorer
        self._scan = lexical.scan if lexical is not None else lexicon_scan
        self.version = scorer.model.version
        self.triage_threshold = scorer.model.threshold_triage

    def cheap_risk(self, text: str) -> float:
        """The n-gram head's risk alone, for triage when the model is over capacity."""
        return float(self._scorer.model.cheap_risk([text])[0])

    def scores(self, texts: Sequence[str]) -> list[ModelScore]:
        """The model's raw opinion of each text (no lexicon, no context)."""
        return self._scorer.score(texts)

    def detect(self, texts: Sequence[str], contexts: Sequence[Sequence[str]] | None = None) -> list[Detection]:
        lexical = [self._scan(t) for t in texts]
        batch, owners = list(texts), list(range(len(texts)))
        for i, context in enumerate(contexts or ()):
            if context:
                batch.append(" ".join([*context, texts[i]]))
                owners.append(i)
        try:
            scores = self._scorer.score(batch)
        except Exception as exc:  # the C engine or numpy failed: say so, the caller falls back
            raise ModelUnavailable(f"semantic model failed: {type(exc).__name__}") from exc
        verdicts: list[list[Detection]] = [[] for _ in texts]
        for owner, score in zip(owners, scores, strict=True):
            verdicts[owner].append(combine(lexical[owner], score, self.version))
        return [strongest(v) for v in verdicts]


def load_semantic(model_dir: str | None = None, threads: int = 1, lexical: Detector | None = None) -> SemanticDetector:
    """Load the embedder and the trained artifact; ModelUnavailable if either fails."""
    try:
        model = SemanticModel.load(ARTIFACT_JSON, ARTIFACT_WEIGHTS)
        embedder = load_embedder(model_dir, threads)
    except Exception as exc:
        raise ModelUnavailable(f"semantic model could not be loaded: {type(exc).__name__}: {exc}") from exc
    return SemanticDetector(Scorer(embedder, model), lexical)


_default: SemanticDetector | None = None
_default_lock = threading.Lock()


def detect(texts: Sequence[str], contexts: Sequence[Sequence[str]] | None = None) -> list[Detection]:
    """The combined verdict for each text, with the bundled model (loaded on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = load_semantic()
    return _default.detect(texts, contexts)
