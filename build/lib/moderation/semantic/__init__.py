"""The semantic layer: a sentence-embedding model and trained heads next to the lexicon.

Public names here; `moderation/__init__.py` re-exports them. Training lives in
`train.py` (`python -m moderation train`) and needs the `train` extra.
"""

from .detector import ModelUnavailable, SemanticDetector, detect, load_semantic

__all__ = ["ModelUnavailable", "SemanticDetector", "detect", "load_semantic"]
