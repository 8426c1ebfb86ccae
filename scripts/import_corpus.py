"""Assemble moderation/data/ from the writers' files: ids, de-duplication, sets kept apart.

    python scripts/import_corpus.py TRAIN_DIR BLIND_DIR

Near-copies (same letters once case, accents and punctuation are folded, or embedding
cosine >= 0.95) are dropped within each set, and a training message that is a near-copy
of a blind one is dropped from training, so the blind figures measure generalisation.
Run once per corpus delivery; the output is committed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

from moderation.semantic.corpus import BLIND_FILE, DATA_DIR
from moderation.semantic.embedder import load_embedder
from moderation.semantic.ngrams import canonical
from moderation.semantic.train import embed_cached

NEAR = 0.95


def read(folder: Path, prefix: str) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                rows.append(
                    {
                        "id": f"{prefix}-{path.stem}-{n:04d}",
                        "text": row["text"].strip(),
                        "severity": row["severity"],
                        "category": row.get("category") if row["severity"] != "none" else None,
                        "lang": row.get("lang", "en"),
                        "kind": row.get("kind", ""),
                        "source": f"writer:{row.get('writer', path.stem)}",
                    }
                )
    return rows


def key(text: str) -> str:
    return re.sub(r"[\W_]+", "", canonical(text))


def dedupe(rows: list[dict], vectors: np.ndarray, against: np.ndarray | None = None) -> list[int]:
    keep: list[int] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        k = key(row["text"])
        if not k or k in seen:
            continue
        if keep and float((vectors[keep] @ vectors[i]).max()) >= NEAR:
            continue
        if against is not None and len(against) and float((against @ vectors[i]).max()) >= NEAR:
            continue
        seen.add(k)
        keep.append(i)
    return keep


def write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(train_dir: str, blind_dir: str) -> None:
    embedder = load_embedder(threads=2)
    blind = read(Path(blind_dir), "blind")
    train = read(Path(train_dir), "train")
    blind_vec = embed_cached(embedder, [r["text"] for r in blind])
    train_vec = embed_cached(embedder, [r["text"] for r in train])
    blind_keep = dedupe(blind, blind_vec)
    train_keep = dedupe(train, train_vec, against=blind_vec[blind_keep])
    write(BLIND_FILE, [blind[i] for i in blind_keep])
    write(DATA_DIR / "train.jsonl", [train[i] for i in train_keep])
    print(f"blind {len(blind_keep)}/{len(blind)} kept; train {len(train_keep)}/{len(train)} kept")


if __name__ == "__main__":
    main(*sys.argv[1:3])
