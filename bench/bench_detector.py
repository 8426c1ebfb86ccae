"""Throughput of ``moderation.scan`` on realistic ~100-character chat messages.

Run from the repository root: ``python -m bench.bench_detector [--seconds 3] [--flagged 0.2]``.
Messages are built from everyday cohort chatter (clean) and crisis phrases, some
obfuscated, in English and Spanish, so the mix exercises the ASCII fast path, the
accent/Unicode path and the context rules. One core, one thread: the figure is what
one server process can scan on the event loop.
"""

from __future__ import annotations

import argparse
import random
import time

from moderation import scan

CLEAN = [
    "I went to a meeting last night and it actually helped a lot, thanks for the push everyone",
    "anyone want to grab coffee after group on thursday? I'm buying, got paid today finally",
    "that workout killed me lol, my legs are jelly. killing it at work though so that's good",
    "me muero de risa con lo que dijo Carlos en el grupo hoy, gracias por hacerme reír",
    "90 days clean today!! my sponsor took me out for breakfast, I'm grateful for you all",
    "the counselor said call 988 if you ever feel suicidal, I saved it in my phone just in case",
    "having a rough day but I'm hanging in there, going for a walk instead of going to the bar",
    "¿a qué hora es el grupo mañana? tengo cita con el doctor a las 3 y no quiero llegar tarde",
    "my phone is dead so text me at home later, this traffic is killing me, stuck on the highway",
    "two years ago I wanted to die, today I'm grateful to be alive and to have my kids back",
]
FLAGGED = [
    "I can't do this anymore. I'm going to kill myself tonight, I already wrote goodbye letters",
    "i want to k1ll mys3lf so bad right now, nobody would even notice if i was gone honestly",
    "picked up again last night after 60 days. used with my cousin and I feel like garbage now",
    "me quiero morir, ya no quiero vivir así. todos estarían mejor sin mí, de verdad lo pienso",
    "my roommate took the whole bottle of his pills and he's not breathing right, what do I do",
    "craving a drink so bad right now after that call with my ex, thinking about going to score",
]


def build(n: int, flagged_share: float, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        pool = FLAGGED if rng.random() < flagged_share else CLEAN
        text = rng.choice(pool)
        if rng.random() < 0.3:
            text = text.upper() if rng.random() < 0.3 else text.replace(" ", "  ", 2)
        out.append(text[:110])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--flagged", type=float, default=0.2, help="share of messages that contain crisis language")
    args = parser.parse_args()
    messages = build(20_000, args.flagged)
    for text in messages[:2000]:  # warm-up
        scan(text)
    count, flagged = 0, 0
    start, cpu_start = time.perf_counter(), time.process_time()
    deadline = start + args.seconds
    while time.perf_counter() < deadline:
        for text in messages:
            flagged += scan(text).flagged
        count += len(messages)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    avg = sum(map(len, messages)) / len(messages)
    # CPU time is the fair per-core figure when other processes share the machine.
    print(
        f"moderation.scan: {count / cpu:,.0f} messages/s per CPU-second on one core "
        f"({count / elapsed:,.0f}/s wall clock; {count:,} messages, avg {avg:.0f} chars, "
        f"{flagged / count:.0%} flagged)"
    )


if __name__ == "__main__":
    main()
