"""`python -m bench` (`make bench`): yardstick vs ours, same harness, one table.

    python -m bench                                  # both default scenarios
    python -m bench --scenario large --only ours
    python -m bench --clients 500 --rooms 25 --rate 300 --duration 30
    python -m bench --scenario small --only cluster,yardstick   # two processes behind HAProxy

For every scenario and server: start a fresh server pinned to CPU 0, create its
users, run the load generator as its own process pinned to CPU 1, stop the
server. Then print the table and write bench-results/bench-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import procstats, report
from bench.plan import Plan
from bench.targets import REPO, ClusterTarget, OursTarget, Target, TargetError, YardstickTarget


@dataclass(frozen=True)
class Scenario:
    name: str
    clients: int
    rooms: int
    rate: float
    duration: float


SCENARIOS = {
    "small": Scenario("small", 200, 20, 200, 20),
    "large": Scenario("large", 1000, 50, 500, 20),
}
#: ours-lexicon: our server with the semantic model off, to show what the model costs.
#: cluster: two of our processes behind HAProxy with Redis (`make cluster`); only on request;
#: cluster-lexicon: the same with the semantic model off.
SERVERS = ("yardstick", "ours-lexicon", "ours")
EXTRA_SERVERS = ("cluster", "cluster-lexicon")


def server_list(value: str) -> list[str]:
    """--only: one server or several, comma separated (`cluster,yardstick`)."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in SERVERS + EXTRA_SERVERS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"{value!r}: choose from {', '.join(SERVERS + EXTRA_SERVERS)} (comma separated)"
        )
    return list(dict.fromkeys(names))


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="run this scenario (repeatable; default: all, or 'custom' "
        "when --clients/--rooms/--rate/--duration are given alone)",
    )
    p.add_argument("--clients", type=int, help="simulated users (overrides the scenario)")
    p.add_argument("--rooms", type=int, help="rooms; users are spread evenly")
    p.add_argument("--rate", type=float, help="messages/s offered, all users together")
    p.add_argument("--duration", type=float, help="measured seconds")
    p.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds of load first")
    p.add_argument(
        "--only",
        type=server_list,
        help=f"run these servers only, comma separated, in this order ({', '.join(SERVERS + EXTRA_SERVERS)}); "
        "default: " + ",".join(SERVERS),
    )
    p.add_argument("--schedule", choices=["poisson", "uniform"], default="poisson")
    p.add_argument(
        "--client-impl",
        choices=["lean", "socketio"],
        default="lean",
        help="lean: raw Engine.IO over aiohttp (default); socketio: python-socketio's "
        "AsyncClient, to show what the stock client costs",
    )
    p.add_argument(
        "--crisis-every",
        type=int,
        default=200,
        help="every Nth message is a crisis phrase, for the alert latency (0: none)",
    )
    p.add_argument(
        "--help-every",
        type=int,
        default=200,
        help="every Nth send is a help:request instead (halfway between crises), for its alert latency (0: none)",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each run, wait up to this many seconds for other work on the box to stop (0: don't wait)",
    )
    p.add_argument(
        "--source-ips", type=int, default=0, help="spread clients over this many loopback source addresses (127.0.0.N)"
    )
    return p.parse_args(argv)


def choose_scenarios(args: argparse.Namespace) -> list[Scenario]:
    overrides = {k: getattr(args, k) for k in ("clients", "rooms", "rate", "duration") if getattr(args, k) is not None}
    if args.scenario:
        base = [SCENARIOS[n] for n in dict.fromkeys(args.scenario)]
    elif overrides:
        base = [replace(SCENARIOS["small"], name="custom")]
    else:
        base = list(SCENARIOS.values())
    return [replace(s, **overrides) for s in base]


def ours_runnable() -> str | None:
    """None when `python -m server --help` works, else why not."""
    if not (REPO / "server" / "__main__.py").exists():
        return "server/__main__.py does not exist yet"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "server", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        return "`python -m server --help` timed out"
    if done.returncode != 0:
        return f"`python -m server --help` exited {done.returncode}: {done.stderr.strip()[-300:]}"
    return None


def cpus() -> tuple[int | None, int | None]:
    """(server CPU, load-generator CPU): apart when the box has two."""
    n = len(os.sched_getaffinity(0))
    return (0, 1) if n >= 2 and {0, 1} <= os.sched_getaffinity(0) else (None, None)


async def run_one(scenario: Scenario, server: str, args: argparse.Namespace) -> dict[str, Any]:
    server_cpu, lg_cpu = cpus()
    log_dir = report.RESULTS_DIR / "logs"
    target: Target
    if server == "yardstick":
        target = YardstickTarget(server_cpu, log_dir)
    elif server.startswith("cluster"):
        target = ClusterTarget(server_cpu, log_dir, semantic=server == "cluster")
    else:
        target = OursTarget(server_cpu, log_dir, semantic=server == "ours")
    try:
        log(f"{scenario.name}/{server}: starting server on port {target.port}")
        await target.start()
        t = time.monotonic()
        population = await target.provision(scenario.clients, scenario.rooms)
        log(
            f"{scenario.name}/{server}: provisioned {scenario.clients} users in "
            f"{scenario.rooms} rooms in {time.monotonic() - t:.1f}s; running load"
        )
        plan = Plan(
            url=target.url,
            clients=population.clients,
            rate=scenario.rate,
            duration=scenario.duration,
            warmup=args.warmup,
            schedule=args.schedule,
            client_impl=args.client_impl,
            server_pid=target.pid,
            counselor_token=population.counselor_token,
            crisis_every=args.crisis_every,
            help_every=args.help_every if population.counselor_token else 0,
            source_ips=[f"127.0.0.{i + 1}" for i in range(args.source_ips)],
        )
        if args.quiet_wait > 0:
            busy = await wait_for_quiet(args.quiet_wait)
            if busy >= 15.0:
                log(
                    f"{scenario.name}/{server}: the box is busy ({busy:.0f}% CPU) with other work; "
                    "running anyway, figures will be noisy"
                )
        result = await run_loadgen(plan, lg_cpu)
        if isinstance(target, OursTarget) and target.semantic:
            result["semantic"] = await target.semantic_stats()
    except (TargetError, RuntimeError, OSError) as exc:
        log(f"{scenario.name}/{server}: FAILED: {exc}")
        result = {"error": str(exc).splitlines()[0][:300]}
    finally:
        await target.stop()
    result.update(scenario=scenario.name, server=server, scenario_spec=scenario.__dict__)
    return result


async def wait_for_quiet(max_wait: float, threshold_pct: float = 15.0) -> float:
    """Wait (up to ``max_wait`` s) until the box is nearly idle; return the last busy %.

    The server and its database are idle at this point, so whatever CPU is busy
    belongs to other work (a test suite, a build) that would skew the figures.
    """
    deadline = time.monotonic() + max_wait
    while True:
        before, t0 = procstats.busy_cpu_seconds(), time.monotonic()
        await asyncio.sleep(1.0)
        busy = 100 * (procstats.busy_cpu_seconds() - before) / (time.monotonic() - t0)
        if busy < threshold_pct or time.monotonic() >= deadline:
            return busy


async def run_loadgen(plan: Plan, cpu: int | None) -> dict[str, Any]:
    """Run bench.loadgen in its own process and read its JSON result."""
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        plan_path, out_path = Path(tmp) / "plan.json", Path(tmp) / "result.json"
        plan.save(plan_path)
        cmd = [sys.executable, "-m", "bench.loadgen", "--plan", str(plan_path), "--out", str(out_path)]
        if cpu is not None:
            cmd += ["--cpu", str(cpu)]
        proc = await asyncio.create_subprocess_exec(*cmd, cwd=REPO)
        budget = 120 + plan.warmup + plan.duration + plan.drain + len(plan.clients) / 10
        try:
            code = await asyncio.wait_for(proc.wait(), budget)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"load generator did not finish within {budget:.0f}s") from None
        if code != 0 or not out_path.exists():
            raise RuntimeError(f"load generator exited {code}")
        return json.loads(out_path.read_text())


def semantic_throughput() -> str | None:
    """The model's own rate on one core (bench.bench_semantic), in its own process."""
    log("semantic model throughput on one core")
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_semantic", "--seconds", "6"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout.strip() if done.returncode == 0 else f"semantic throughput: failed: {done.stderr[-300:]}"


async def main_async(args: argparse.Namespace) -> int:
    scenarios = choose_scenarios(args)
    servers = args.only or list(SERVERS)
    results: list[dict[str, Any]] = []
    why_not = ours_runnable() if any(s != "yardstick" for s in servers) else None
    for scenario in scenarios:
        for server in servers:
            if server != "yardstick" and why_not:
                log(f"{scenario.name}/{server}: skipped: {why_not}")
                results.append({"scenario": scenario.name, "server": server, "error": f"not runnable: {why_not}"})
                continue
            results.append(await run_one(scenario, server, args))
    semantic = semantic_throughput() if "ours" in servers else None
    print(report.render(results))
    if semantic:
        print(semantic)
    path = report.save(results, {k: v for k, v in vars(args).items()})
    print(f"\nresults: {path.relative_to(REPO)}")
    return 0 if all("error" not in r for r in results if r["server"] == "yardstick") else 1


def main(argv: list[str] | None = None) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by servers and loadgen
    sys.exit(asyncio.run(main_async(parse_args(argv))))


if __name__ == "__main__":
    main()
