"""``python -m moderation``: evaluate, train, report and gather feedback.

- ``eval FILE``: the lexicon on a labelled JSONL set (exit 1 when a threshold fails).
- ``train``: fit the semantic model on moderation/data/ (seeded, reproducible) and write
  moderation/model/ (needs the ``train`` extra: scikit-learn, scipy).
- ``report FILE``: lexicon alone, model alone and combined on a labelled set (the blind
  set at a release), as a table and, with ``--json``, in full.
- ``export-feedback --url URL --token TOKEN``: counselors' labels (false positives and
  "concerning, not flagged" marks) from a running server, text only, into
  moderation/data/feedback.jsonl for the next training round. The server checks that the
  token is a staff member's and audits the export.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import urllib.request

from .evaluate import evaluate, format_report, load_cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moderation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="recall per severity and false alarms on a labelled JSONL set")
    ev.add_argument("file")
    ev.add_argument("--override", help="staff override lexicon to merge before scanning")
    tr = sub.add_parser("train", help="fit the semantic model on moderation/data/")
    tr.add_argument("--model-dir", help="an ONNX export of multilingual-e5-small instead of the bundled model")
    rp = sub.add_parser("report", help="lexicon, model and combined figures on a labelled set")
    rp.add_argument("file")
    rp.add_argument("--json", action="store_true", help="print the full report as JSON")
    fb = sub.add_parser("export-feedback", help="counselor labels from a running server, for training")
    fb.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8080")
    fb.add_argument("--token", required=True, help="a staff member's access token")
    fb.add_argument("--out", default=None, help="default: moderation/data/feedback.jsonl")
    args = parser.parse_args(argv)
    if args.command == "train":
        from .semantic.train import train

        meta = train(args.model_dir)
        print(json.dumps({k: meta[k] for k in ("version", "data_sha256", "thresholds", "embed_weight")}, indent=2))
        print(json.dumps(meta.get("cross_validation"), indent=2))
        return 0
    if args.command == "report":
        from .semantic import load_semantic
        from .semantic.corpus import load
        from .semantic.report import full_report, summary_lines

        figures = full_report(load_semantic(threads=2), load(args.file))
        print(json.dumps(_no_nan(figures), indent=2) if args.json else "\n".join(summary_lines(figures)))
        return 0
    if args.command == "export-feedback":
        return export_feedback(args.url, args.token, args.out)
    scan = None
    if args.override:
        from .detector import Detector
        from .lexicon import load_lexicon

        scan = Detector(load_lexicon(args.override)).scan
    try:
        cases = load_cases(args.file)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate(cases, scan) if scan else evaluate(cases)
    print(format_report(report))
    return 0 if report.passed else 1


def _no_nan(value: object) -> object:
    """JSON has no NaN: a rate over an empty group (no high-risk harassment) is null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def export_feedback(url: str, token: str, out: str | None) -> int:
    from .semantic.corpus import DATA_DIR

    request = urllib.request.Request(
        url.rstrip("/") + "/api/feedback/export", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - an operator-given URL
            body = json.loads(response.read())
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = out or str(DATA_DIR / "feedback.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for row in body["examples"]:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(body['examples'])} labelled examples written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
