"""Throughput of ``moderation.scan`` on realistic ~100-character chat messages.

Run from the repository root: ``python -m bench.bench_detector [--seconds 2] [--runs 5]``.
It reports messages/s for three workloads: clean only, flagged only, and a realistic
mix (``--flagged 0.05``: 95% clean), each measured ``--runs`` times, best and median.
Messages are built from everyday cohort chatter (clean) and crisis phrases, some
obfuscated, in English and Spanish, so the mix exercises the ASCII fast path, the
accent/Unicode path and the context rules. One core, one thread: the figure is what
one server process can scan on the event loop.
"""

from __future__ import annotations

import argparse
import random
import statistics
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
    "see you all at 6pm, I'll bring the snacks this time. 2nd week in a row, no excuses now",
    "my daughter's recital was so cute 😊 she did the whole dance without looking at the teacher",
    "ugh sooo tired today, worked a double shift and the bus was late again. bed early tonight",
    "gracias a todos por escucharme ayer, me ayudó mucho hablar. nos vemos el martes en la junta",
    "Does anyone know a good meeting near downtown on Sundays? The 10am one got cancelled :(",
    "I made my mom's enchiladas recipe for the first time and honestly they were pretty good!",
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


def measure(messages: list[str], seconds: float) -> tuple[float, float, float]:
    """One timed run: (messages per CPU-second, messages per wall-second, flagged share)."""
    for text in messages[:2000]:  # warm-up
        scan(text)
    count, flagged = 0, 0
    start, cpu_start = time.perf_counter(), time.process_time()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for text in messages:
            flagged += scan(text).flagged
        count += len(messages)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return count / cpu, count / elapsed, flagged / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one timed run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per workload (best and median reported)")
    parser.add_argument("--flagged", type=float, default=0.05, help="share of crisis messages in the mix")
    args = parser.parse_args()
    workloads = [("clean only", 0.0), ("flagged only", 1.0), (f"mix {1 - args.flagged:.0%} clean", args.flagged)]
    # CPU time is the fair per-core figure when other processes share the machine (2 cores,
    # other engineers running tests); wall clock is shown too. Runs are interleaved so a
    # burst of load elsewhere does not land on one workload only.
    sets = {name: build(20_000, share) for name, share in workloads}
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in workloads}
    for _ in range(args.runs):
        for name, _share in workloads:
            results[name].append(measure(sets[name], args.seconds))
    avg = sum(map(len, sets[workloads[2][0]])) / len(sets[workloads[2][0]])
    print(f"moderation.scan, one core, avg {avg:.0f} chars, {args.runs} runs x {args.seconds:g}s per workload")
    for name, _share in workloads:
        cpu = sorted(r[0] for r in results[name])
        wall = sorted(r[1] for r in results[name])
        print(
            f"  {name:<14} best {cpu[-1]:>9,.0f}/s  median {statistics.median(cpu):>9,.0f}/s per CPU-second"
            f"  (wall best {wall[-1]:,.0f}/s, median {statistics.median(wall):,.0f}/s; "
            f"{results[name][0][2]:.0%} flagged)"
        )


if __name__ == "__main__":
    main()
