"""The labelled corpus: loading, checking and fingerprinting JSON-lines message sets.

Each line: ``{"id", "text", "severity": "high"|"medium"|"low"|"none", "category": one
of CATEGORIES or null, "lang", "kind", "source"}``. The training set is
``moderation/data/train.jsonl`` (plus counselor feedback once exported); the blind set
under ``moderation/data/blind/`` is never read by training.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..detection import CATEGORIES

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TRAIN_FILES = (DATA_DIR / "train.jsonl", DATA_DIR / "feedback.jsonl")
BLIND_FILE = DATA_DIR / "blind" / "blind.jsonl"
LABELS = ("none", "low", "medium", "high")


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    severity: str
    category: str | None
    lang: str
    kind: str
    source: str


def load(path: str | Path) -> list[Example]:
    """Read and check one file; a bad line names its number."""
    examples: list[Example] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                severity = row.get("severity", row.get("expected"))
                example = Example(
                    str(row["id"]),
                    row["text"],
                    severity,
                    row.get("category"),
                    row.get("lang", "en"),
                    row.get("kind", ""),
                    row.get("source", ""),
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: bad line: {exc}") from exc
            if example.severity not in LABELS:
                raise ValueError(f"{path}:{number}: severity must be one of {LABELS}")
            if example.category is not None and example.category not in CATEGORIES:
                raise ValueError(f"{path}:{number}: unknown category {example.category!r}")
            if (example.category is None) != (example.severity == "none"):
                raise ValueError(f"{path}:{number}: a category goes with every severity but none")
            examples.append(example)
    return examples


def load_training() -> list[Example]:
    return [e for path in TRAIN_FILES if path.exists() for e in load(path)]


def fingerprint(paths: tuple[Path, ...] = TRAIN_FILES) -> str:
    """sha256 over the training files' bytes, in order (missing files count as empty)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        if path.exists():
            digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
