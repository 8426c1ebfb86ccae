"""The load generator: one process, N simulated users, one JSON result.

    python -m bench.loadgen --plan plan.json [--out result.json]
    python -m bench.loadgen --url http://127.0.0.1:8099 --clients 200 --rooms 20 \\
        --rate 200 --duration 20          # quick run against a yardstick

Phases: connect every user (bounded concurrency) -> join its room -> send at
the offered rate for ``warmup`` seconds (ignored) and ``duration`` seconds
(measured) -> wait up to ``drain`` seconds for outstanding acks and deliveries.

How latency is measured without synchronised clocks: each ordinary message's
text is ``bench <sender index> <time.monotonic_ns() at send>``. CLOCK_MONOTONIC
is one clock for the whole machine, so a receiver in this or any other
process on the box subtracts it from its own monotonic_ns() on receipt.
Crisis messages carry only the crisis phrase (so detection sees exactly what
a patient would write) and are matched to ``alert:new`` by message id.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from bench import procstats
from bench.lean_client import ConnectRefused, EventHandler, LeanClient
from bench.plan import CRISIS_TEXT, ClientSpec, Plan
from bench.stats import Tally, summarize_ms

NEVER = 1 << 62


class Client(Protocol):
    """What LeanClient and SioClient both offer."""

    @property
    def connected(self) -> bool: ...

    async def connect(self, auth: dict[str, Any] | None, timeout: float = ...) -> Any: ...
    async def emit(self, event: str, data: Any, on_ack: Any = None) -> None: ...
    async def call(self, event: str, data: Any, timeout: float = ...) -> Any: ...
    async def close(self) -> None: ...


class Window:
    """The measured interval in monotonic ns; empty until the run starts."""

    start = NEVER
    end = NEVER

    def contains(self, t_ns: int) -> bool:
        return self.start <= t_ns < self.end


def error_code(ack: Any) -> str:
    """The ``error.code`` of a failed ack, tolerating odd shapes."""
    if isinstance(ack, dict):
        err = ack.get("error")
        if isinstance(err, dict) and err.get("code"):
            return str(err["code"])
    return "bad_ack"


class LoadGenerator:
    """Runs one Plan and accumulates a Tally."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.tally = Tally()
        self.window = Window()
        self.clients: list[Client | None] = [None] * len(plan.clients)
        self.joined: list[int] = []  # indexes of users in their room
        self.room_size: Counter[str] = Counter()
        self.setup_errors: Counter[str] = Counter()
        self.acks_pending = 0  # measured sends still without an ack
        self.crisis_sent_at: dict[str, int] = {}  # message id -> send ns
        self.alert_at: dict[str, int] = {}  # message id -> alert:new ns
        self.help_sent_at: dict[str, int] = {}  # help request's flag id -> send ns
        self.help_alert_at: dict[str, int] = {}  # flag id -> alert:new ns
        self.help_errors: Counter[str] = Counter()
        self.help_asked = 0
        self.alerts_enabled = False
        self.alert_note = ""
        self._sessions: list[aiohttp.ClientSession] = []

    # ----- events -------------------------------------------------------
    def _receiver(self, idx: int) -> EventHandler:
        """The event callback of user ``idx``: counts measured deliveries."""
        tally, window = self.tally, self.window

        def on_event(event: str, data: Any) -> None:
            if event != "message:new":
                return
            now = time.monotonic_ns()
            text = data.get("text") if isinstance(data, dict) else None
            if not text or not text.startswith("bench "):
                return
            _, sender, sent_ns = text.split(" ", 2)
            t_send = int(sent_ns)
            if not window.contains(t_send):
                return
            tally.receptions_all += 1
            if int(sender) != idx:
                tally.receptions_peers += 1
                tally.e2e_ns.append(now - t_send)

        return on_event

    def _counselor_event(self, event: str, data: Any) -> None:
        if event == "alert:new" and isinstance(data, dict):
            now = time.monotonic_ns()
            mid, fid = data.get("message_id"), data.get("id")
            if isinstance(mid, str) and mid not in self.alert_at:
                self.alert_at[mid] = now
            if data.get("source") == "help_button" and isinstance(fid, str) and fid not in self.help_alert_at:
                self.help_alert_at[fid] = now

    # ----- setup --------------------------------------------------------
    def _new_client(self, idx: int, on_event: EventHandler) -> Client:
        session = self._sessions[idx % len(self._sessions)]
        if self.plan.client_impl == "socketio":
            from bench.sio_client import SioClient

            return SioClient(session, self.plan.url, on_event)
        return LeanClient(session, self.plan.url, on_event)

    async def _connect_one(self, idx: int, spec: ClientSpec, sem: asyncio.Semaphore) -> None:
        async with sem:
            auth = {"token": spec.token} if spec.token is not None else {"token": "yardstick"}
            for attempt in range(3):
                client = self._new_client(idx, self._receiver(idx))
                try:
                    await client.connect(auth, timeout=self.plan.connect_timeout)
                    break
                except (TimeoutError, ConnectRefused, aiohttp.ClientError, OSError) as exc:
                    code = _refusal_code(exc)
                    if attempt == 2:
                        self.setup_errors[f"connect:{code}"] += 1
                        return
                    await asyncio.sleep(0.5 * (attempt + 1))
            try:
                ack = await client.call("room:join", {"room_id": spec.room_id}, timeout=self.plan.connect_timeout)
            except TimeoutError:
                ack = {"ok": False, "error": {"code": "timeout"}}
            if isinstance(ack, dict) and ack.get("ok") is True:
                self.clients[idx] = client
                self.joined.append(idx)
                self.room_size[spec.room_id] += 1
            else:
                self.setup_errors[f"join:{error_code(ack)}"] += 1
                await client.close()

    async def _setup_counselor(self) -> Client | None:
        token = self.plan.counselor_token
        if token is None:
            self.alert_note = "no counselor in plan"
            return None
        client = self._new_client(0, self._counselor_event)
        try:
            await client.connect({"token": token}, timeout=self.plan.connect_timeout)
            ack = await client.call("oncall:set", {"on": True}, timeout=10)
        except (TimeoutError, ConnectRefused, aiohttp.ClientError, OSError) as exc:
            self.alert_note = f"counselor setup failed: {exc!r}"[:200]
            return client if client.connected else None
        if isinstance(ack, dict) and ack.get("ok") is True:
            self.alerts_enabled = True
        else:
            self.alert_note = f"oncall:set answered {ack!r}"[:200]
        return client

    # ----- sending ------------------------------------------------------
    def _sender_order(self) -> list[int]:
        """Joined users interleaved room by room, so consecutive sends hit
        different rooms and every user sends about equally often."""
        by_room: dict[str, list[int]] = {}
        for idx in sorted(self.joined):
            by_room.setdefault(self.plan.clients[idx].room_id, []).append(idx)
        rng = random.Random(self.plan.seed)
        rooms = list(by_room.values())
        for members in rooms:
            rng.shuffle(members)
        order: list[int] = []
        for i in range(max((len(m) for m in rooms), default=0)):
            order.extend(m[i] for m in rooms if i < len(m))
        return order

    async def _send(self, idx: int, seq: int, crisis: bool) -> None:
        client = self.clients[idx]
        assert client is not None
        spec = self.plan.clients[idx]
        t_send = time.monotonic_ns()
        measured = self.window.contains(t_send)
        tally = self.tally
        if crisis:
            text, client_id = CRISIS_TEXT, f"crisis-{idx}-{seq:08d}"
        else:
            text, client_id = f"bench {idx} {t_send}", f"bench-{idx}-{seq:08d}"
        if measured:
            tally.sent += 1
            self.acks_pending += 1
            if crisis:
                tally.crisis_sent += 1
            else:
                tally.sent_normal += 1
                tally.expected_receptions += self.room_size[spec.room_id] - 1

        def on_ack(ack: Any) -> None:
            if not measured:
                return
            self.acks_pending -= 1
            if isinstance(ack, dict) and ack.get("ok") is True:
                tally.acked_ok += 1
                tally.ack_ns.append(time.monotonic_ns() - t_send)
                message = ack.get("message")
                if crisis and isinstance(message, dict) and isinstance(message.get("id"), str):
                    self.crisis_sent_at[message["id"]] = t_send
                    tally.crisis_ack_ns.append(tally.ack_ns[-1])
            else:
                tally.errors[error_code(ack)] += 1

        try:
            await client.emit("message:send", {"room_id": spec.room_id, "text": text, "client_id": client_id}, on_ack)
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
            if measured:
                self.acks_pending -= 1
                tally.errors[f"send:{type(exc).__name__}"] += 1

    async def _help(self, idx: int) -> None:
        """A patient presses "Ask a counselor to reach out": its alert:new latency at the
        on-call counselor is measured like a crisis message's (matched by flag id)."""
        client = self.clients[idx]
        assert client is not None
        t_send = time.monotonic_ns()
        if not self.window.contains(t_send):
            return
        self.help_asked += 1

        def on_ack(ack: Any) -> None:
            if isinstance(ack, dict) and ack.get("ok") is True and isinstance(ack.get("flag_id"), str):
                self.help_sent_at[ack["flag_id"]] = t_send
            else:
                self.help_errors[error_code(ack)] += 1

        try:
            await client.emit("help:request", {"room_id": self.plan.clients[idx].room_id}, on_ack)
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
            self.help_errors[f"send:{type(exc).__name__}"] += 1

    async def _run_schedule(self, order: list[int], with_crisis: bool) -> None:
        plan = self.plan
        rng = random.Random(plan.seed)
        gap = (lambda: rng.expovariate(plan.rate)) if plan.schedule == "poisson" else (lambda: 1.0 / plan.rate)
        t0 = time.monotonic()
        self.window.start = int((t0 + plan.warmup) * 1e9)
        self.window.end = int((t0 + plan.warmup + plan.duration) * 1e9)
        end = t0 + plan.warmup + plan.duration
        due, seq = t0, 0
        while due < end:
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
                continue
            if now * 1e9 >= self.window.start:
                self.tally.sched_lag_ns.append(int((now - due) * 1e9))
            idx = order[seq % len(order)]
            crisis = with_crisis and plan.crisis_every > 0 and seq % plan.crisis_every == plan.crisis_every - 1
            if with_crisis and plan.help_every > 0 and seq % plan.help_every == plan.help_every // 2:
                # A different patient each time (a repeat press updates the open request):
                # a stride prime to the client count walks through them all.
                await self._help(order[(seq // plan.help_every * 7919) % len(order)])
            else:
                await self._send(idx, seq, crisis)
            seq += 1
            due += gap()

    async def _drain(self) -> None:
        deadline = time.monotonic() + self.plan.drain
        while time.monotonic() < deadline:
            if self.acks_pending <= 0 and self.tally.receptions_peers >= self.tally.expected_receptions:
                break
            await asyncio.sleep(0.05)
        self.tally.errors["no_ack"] += max(0, self.acks_pending)
        if self.tally.errors["no_ack"] == 0:
            del self.tally.errors["no_ack"]

    # ----- the run ------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        plan = self.plan
        self._sessions = _make_sessions(plan.source_ips)
        monitor = Monitor(plan.server_pid)
        monitor_task = asyncio.create_task(monitor.sample_forever())
        counselor: Client | None = None
        try:
            t_setup = time.monotonic()
            sem = asyncio.Semaphore(plan.connect_concurrency)
            await asyncio.gather(*(self._connect_one(i, spec, sem) for i, spec in enumerate(plan.clients)))
            counselor = await self._setup_counselor()
            setup_s = time.monotonic() - t_setup
            order = self._sender_order()
            if not order:
                raise SystemExit(f"no client joined: {dict(self.setup_errors)}")
            await asyncio.sleep(0.5)  # let join broadcasts (presence) settle
            window_task = asyncio.create_task(monitor.mark_window(plan.warmup, plan.duration))
            await self._run_schedule(order, with_crisis=plan.crisis_every > 0)
            await window_task
            await self._drain()
            await asyncio.sleep(0.2)  # late alerts
            still_connected = sum(1 for c in self.clients if c is not None and c.connected)
        finally:
            monitor_task.cancel()
            await self._close_all(counselor)
        return self._result(setup_s, still_connected, monitor)

    async def _close_all(self, counselor: Client | None) -> None:
        sem = asyncio.Semaphore(100)

        async def close(c: Client) -> None:
            async with sem:
                try:
                    await asyncio.wait_for(c.close(), 5)
                except (TimeoutError, Exception):
                    pass

        everyone = [c for c in self.clients if c is not None]
        if counselor is not None:
            everyone.append(counselor)
        await asyncio.gather(*(close(c) for c in everyone))
        for s in self._sessions:
            await s.close()

    def _result(self, setup_s: float, still_connected: int, monitor: Monitor) -> dict[str, Any]:
        t, plan = self.tally, self.plan
        d = plan.duration
        alert_lat = [self.alert_at[m] - s for m, s in self.crisis_sent_at.items() if m in self.alert_at]
        errors = Counter(t.errors)
        errors.update(self.setup_errors)
        lost = len(self.joined) - still_connected
        if lost:
            errors["disconnected"] += lost
        return {
            "clients": len(plan.clients),
            "connected": len(self.joined),
            "still_connected": still_connected,
            "rooms": len(self.room_size),
            "offered_rate": plan.rate,
            "duration": d,
            "setup_seconds": round(setup_s, 2),
            "sent": t.sent,
            "send_rate": round(t.sent / d, 1),
            "sends_acked_rate": round(t.acked_ok / d, 1),
            "delivered_rate": round(t.receptions_all / d, 1),
            "peer_delivered_rate": round(t.receptions_peers / d, 1),
            "expected_peer_receptions": t.expected_receptions,
            "peer_receptions": t.receptions_peers,
            "delivery_ratio": round(t.receptions_peers / t.expected_receptions, 4) if t.expected_receptions else None,
            "e2e_ms": summarize_ms(t.e2e_ns),
            "ack_ms": summarize_ms(t.ack_ns),
            "sched_lag_ms": summarize_ms(t.sched_lag_ns),
            "errors": dict(errors),
            "error_count": sum(errors.values()),
            "alerts": {
                "enabled": self.alerts_enabled,
                "note": self.alert_note,
                "crisis_sent": t.crisis_sent,
                "crisis_acked": len(self.crisis_sent_at),
                "received": len(alert_lat),
                "latency_ms": summarize_ms(alert_lat),
                "crisis_ack_ms": summarize_ms(t.crisis_ack_ns),
                "help_asked": self.help_asked,
                "help_acked": len(self.help_sent_at),
                "help_errors": dict(self.help_errors),
                "help_latency_ms": summarize_ms(
                    [
                        self.help_alert_at[f] - s
                        for f, s in self.help_sent_at.items()
                        if self.help_alert_at.get(f, 0) > s
                    ]
                ),
            },
            "resources": monitor.result(d),
        }


def _refusal_code(exc: BaseException) -> str:
    if isinstance(exc, ConnectRefused) and exc.args and isinstance(exc.args[0], dict):
        return str(exc.args[0].get("code") or exc.args[0].get("message", "refused"))
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    return type(exc).__name__


def _make_sessions(source_ips: list[str]) -> list[aiohttp.ClientSession]:
    """One session per local source address (or one unbound session).

    Binding to several 127.x addresses makes a thousand users look like many
    hosts to per-address connection limits, as real users would.
    """

    def session(local: str | None) -> aiohttp.ClientSession:
        conn = aiohttp.TCPConnector(limit=0, local_addr=(local, 0) if local else None)
        return aiohttp.ClientSession(connector=conn)

    return [session(ip) for ip in source_ips] or [session(None)]


class Monitor:
    """Samples the server tree's RSS and the CPU of it and of this process."""

    def __init__(self, server_pid: int | None) -> None:
        self.pid = server_pid
        self.peak_main_kb = 0
        self.peak_children_kb = 0
        self.cpu: dict[str, float] = {}
        self.child_names: set[str] = set()

    async def sample_forever(self) -> None:
        if self.pid is None:
            return
        while True:
            s = procstats.sample_tree(self.pid)
            self.peak_main_kb = max(self.peak_main_kb, s.main_rss_kb)
            self.peak_children_kb = max(self.peak_children_kb, s.children_rss_kb)
            await asyncio.sleep(0.25)

    async def mark_window(self, warmup: float, duration: float) -> None:
        """Read CPU counters at the start and end of the measured window."""
        await asyncio.sleep(warmup)
        before = self._cpu_now()
        await asyncio.sleep(duration)
        after = self._cpu_now()
        self.cpu = {k: after[k] - before[k] for k in before}

    def _cpu_now(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out = {"loadgen": usage.ru_utime + usage.ru_stime, "host_busy": procstats.busy_cpu_seconds()}
        if self.pid is not None:
            s = procstats.sample_tree(self.pid)
            out["server"] = s.main_cpu
            out["server_children"] = s.children_cpu
            self.child_names = {procstats.proc_name(k) for k in procstats.descendants(self.pid)}
        return out

    def result(self, duration: float) -> dict[str, Any]:
        cpu = dict(self.cpu)
        if cpu:
            # Busy CPU on the box that was neither the server tree nor us.
            ours = cpu["loadgen"] + cpu.get("server", 0.0) + cpu.get("server_children", 0.0)
            cpu["other"] = max(0.0, cpu.pop("host_busy") - ours)
        out: dict[str, Any] = {f"{k}_cpu_pct": round(100 * v / duration, 1) for k, v in cpu.items()}
        if self.pid is not None:
            kids = procstats.descendants(self.pid)
            out["server_peak_rss_mb"] = round(max(procstats.peak_rss_kb(self.pid), self.peak_main_kb) / 1024, 1)
            hwm_children = sum(procstats.peak_rss_kb(k) for k in kids)
            out["children_peak_rss_mb"] = round(max(hwm_children, self.peak_children_kb) / 1024, 1)
            out["children"] = sorted(self.child_names)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out["loadgen_peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
        return out


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _adhoc_plan(args: argparse.Namespace) -> Plan:
    clients = [ClientSpec(None, f"room-{i % args.rooms}") for i in range(args.clients)]
    return Plan(
        url=args.url,
        clients=clients,
        rate=args.rate,
        duration=args.duration,
        warmup=args.warmup,
        client_impl=args.client_impl,
        server_pid=args.server_pid,
        crisis_every=0,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", type=Path, help="a Plan JSON file (from python -m bench)")
    parser.add_argument("--out", type=Path, help="write the result JSON here (default: stdout)")
    parser.add_argument("--url", default="http://127.0.0.1:8099")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--client-impl", choices=["lean", "socketio"], default="lean")
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--cpu", type=int, help="pin this process to this CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        procstats.pin(0, {args.cpu})
    _raise_fd_limit()
    plan = Plan.load(args.plan) if args.plan else _adhoc_plan(args)
    result = asyncio.run(LoadGenerator(plan).run())
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
