"""``python -m moderation eval FILE``: score the detector on a labelled JSONL set.

Exit status 0 when the thresholds in :mod:`moderation.evaluate` hold, 1 when they do
not, 2 on a usage error, so CI can gate a lexicon change on it.
"""

from __future__ import annotations

import argparse
import sys

from .evaluate import evaluate, format_report, load_cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moderation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="recall per severity and false alarms on a labelled JSONL set")
    ev.add_argument("file")
    ev.add_argument("--override", help="staff override lexicon to merge before scanning")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
