"""Crisis-language detection for IOP cohort chat: pure, synchronous, explainable.

Public surface only; see POLICY.md for the clinical rules (severity tiers, negation,
past and resolved stories, idioms) and lexicon/lexicon.json for the reviewed terms.
The server imports from here and nowhere else; this package imports nothing from it.

    >>> from moderation import scan
    >>> scan("i'm going to k1ll mys3lf tonight").severity
    'high'
"""

from .detection import CATEGORIES, SEVERITIES, Detection, Match
from .detector import LEXICON_VERSION, Detector, default_detector, scan
from .lexicon import Lexicon, LexiconError, load_lexicon
from .policy import Decision, fail_safe
from .policy import decide as decide_policy
from .resources import crisis_resources
from .semantic import ModelUnavailable, SemanticDetector, detect, load_semantic

__all__ = [
    "CATEGORIES",
    "Decision",
    "decide_policy",
    "fail_safe",
    "LEXICON_VERSION",
    "SEVERITIES",
    "Detection",
    "Detector",
    "Lexicon",
    "LexiconError",
    "Match",
    "ModelUnavailable",
    "SemanticDetector",
    "crisis_resources",
    "default_detector",
    "detect",
    "load_lexicon",
    "load_semantic",
    "scan",
]
