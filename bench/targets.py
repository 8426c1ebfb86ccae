"""Servers under test: start one pinned to a CPU, provision users, stop it.

Each scenario gets a fresh server process (and, for ours, a fresh database in
a temporary DATA_DIR) so that runs do not inherit each other's memory or data
and the peak RSS reported belongs to that scenario alone.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench import procstats
from bench.plan import ClientSpec

REPO = Path(__file__).resolve().parent.parent


class TargetError(RuntimeError):
    """The server would not start or could not be provisioned."""


@dataclass
class Population:
    """Who connects: one spec per simulated user, plus the on-call counselor."""

    clients: list[ClientSpec]
    counselor_token: str | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Target(ABC):
    """A server process the load generator can be pointed at."""

    name: str

    def __init__(self, cpu: int | None, log_dir: Path) -> None:
        self.cpu = cpu
        self.log_dir = log_dir
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @abstractmethod
    def command(self) -> list[str]: ...

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    async def start(self, timeout: float = 120.0) -> None:
        """Spawn, pin, and wait until GET /readyz answers 200."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{self.name}-{self.port}.log"
        self._log = log_path.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            *self.command(),
            cwd=REPO,
            env=self.environment(),
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        if self.cpu is not None:
            # Before the interpreter has even imported anything, so every
            # child it starts later (the database) inherits the same CPU.
            procstats.pin(self.proc.pid, {self.cpu})
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    raise TargetError(
                        f"{self.name} exited with {self.proc.returncode}; log {log_path}:\n{_tail(log_path)}"
                    )
                try:
                    async with http.get(self.url + "/readyz", timeout=aiohttp.ClientTimeout(total=2)) as resp:
                        if resp.status == 200:
                            return
                except (TimeoutError, aiohttp.ClientError):
                    pass
                await asyncio.sleep(0.25)
        await self.stop()
        raise TargetError(f"{self.name} not ready within {timeout}s; log {log_path}:\n{_tail(log_path)}")

    @abstractmethod
    async def provision(self, clients: int, rooms: int) -> Population: ...

    async def stop(self) -> None:
        """SIGTERM the server (then SIGKILL), and any child it left behind."""
        if self.proc is None:
            return
        kids = procstats.descendants(self.proc.pid)
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class YardstickTarget(Target):
    """bench.yardstick_server: no accounts, rooms are created by joining."""

    name = "yardstick"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.yardstick_server", "--port", str(self.port)]

    async def provision(self, clients: int, rooms: int) -> Population:
        return Population([ClientSpec(None, f"room-{i % rooms}") for i in range(clients)])


class OursTarget(Target):
    """Our server (`python -m server`) with its own local database.

    Layout provisioned: one cohort per room (an IOP cohort is a small group
    that chats in its own room), clients spread round-robin over the rooms,
    and one counselor assigned to every cohort, who goes on call to receive
    crisis alerts.
    """

    staff_user = "benchstaff"

    def __init__(self, cpu: int | None, log_dir: Path, *, semantic: bool = True) -> None:
        self.semantic = semantic
        self.name = "ours" if semantic else "ours-lexicon"
        super().__init__(cpu, log_dir)
        self.secret = "bench-" + secrets.token_hex(24)
        self.staff_password = "bench-" + secrets.token_hex(12)
        self.data_dir = Path(tempfile.mkdtemp(prefix="iopchat-bench-"))

    def command(self) -> list[str]:
        return [sys.executable, "-m", "server"]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "REDIS_URL", "SEED_DEMO")}
        env.update(
            APP_ENV="development",
            HOST="127.0.0.1",
            PORT=str(self.port),
            JWT_SECRET=self.secret,
            BOOTSTRAP_STAFF_USERNAME=self.staff_user,
            BOOTSTRAP_STAFF_PASSWORD=self.staff_password,
            DATA_DIR=str(self.data_dir),
            LOG_LEVEL="WARNING",
            SEMANTIC_DETECTION="1" if self.semantic else "0",
            METRICS_PUBLIC="1",
            # every simulated client comes from 127.0.0.1: lift the per-address caps
            MAX_SOCKETS_PER_ADDRESS="100000",
            HANDSHAKES_PER_SECOND="100000",
        )
        return env

    async def semantic_stats(self) -> dict[str, float]:
        """The server's iopchat_semantic_* metrics (queue, deferred, late flags...)."""
        return await self._semantic_stats(self.url)

    async def _semantic_stats(self, url: str) -> dict[str, float]:
        async with aiohttp.ClientSession(base_url=url) as http, http.get("/metrics") as resp:
            text = await resp.text()
        stats = {}
        for line in text.splitlines():
            if line.startswith("iopchat_semantic_"):
                name, _, value = line.partition(" ")
                stats[name.removeprefix("iopchat_semantic_")] = float(value)
        return stats

    def mint(self, user_id: str, role: str, ttl: int = 3600) -> str:
        """A token the server accepts, signed with the secret we gave it."""
        import jwt

        now = int(time.time())
        claims = {
            "sub": user_id,
            "role": role,
            "iss": "iopchat",
            "aud": "iopchat",
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")

    async def provision(self, clients: int, rooms: int) -> Population:
        async with aiohttp.ClientSession(base_url=self.url) as http:
            api = _Api(http)
            login = await api.post(
                "/api/auth/login", {"username": self.staff_user, "password": self.staff_password}, expect=200
            )
            api.token = login["token"]
            tag = uuid.uuid4().hex[:6]
            sem = asyncio.Semaphore(16)

            async def cohort_with_room(i: int) -> tuple[str, str]:
                async with sem:
                    cohort = await api.post("/api/cohorts", {"name": f"bench {tag} cohort {i}"})
                    room = await api.post(f"/api/cohorts/{cohort['id']}/rooms", {"name": f"room {i}"})
                    return cohort["id"], room["id"]

            pairs = await asyncio.gather(*(cohort_with_room(i) for i in range(rooms)))

            # One enrolment at a time per cohort: concurrent $addToSet on one
            # document loses updates on FerretDB (seen as join:forbidden).
            cohort_locks = {cohort_id: asyncio.Lock() for cohort_id, _ in pairs}

            async def patient(i: int) -> ClientSpec:
                cohort_id, room_id = pairs[i % rooms]
                async with sem:
                    user = await api.post(
                        "/api/users", {"username": f"bench-{tag}-p{i}", "display_name": f"Peer {i}", "role": "patient"}
                    )
                    async with cohort_locks[cohort_id]:
                        await api.post(f"/api/cohorts/{cohort_id}/members/{user['id']}", None, expect=204)
                return ClientSpec(self.mint(user["id"], "patient"), room_id)

            specs = await asyncio.gather(*(patient(i) for i in range(clients)))
            counselor = await api.post(
                "/api/users", {"username": f"bench-{tag}-c", "display_name": "Counselor", "role": "counselor"}
            )

            async def assign(cohort_id: str) -> None:
                async with sem:
                    await api.post(f"/api/cohorts/{cohort_id}/counselors/{counselor['id']}", None, expect=204)

            await asyncio.gather(*(assign(c) for c, _ in pairs))
            return Population(list(specs), self.mint(counselor["id"], "counselor"))

    async def stop(self) -> None:
        await super().stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class ClusterTarget(OursTarget):
    """`python -m server.cluster`: HAProxy in front of two of our server processes, with
    Redis and one local database, all started by the launcher.

    Pinned like the others: the launcher is pinned before it starts anything, so the
    two servers, the database, Redis and HAProxy share the one server core. The figures
    therefore show what the extra hops (balancer, Redis fan-out, a second process's
    caches) cost at the same CPU budget, not what a second core would buy.
    """

    def __init__(self, cpu: int | None, log_dir: Path, *, semantic: bool = True) -> None:
        super().__init__(cpu, log_dir, semantic=semantic)
        self.name = "cluster" if semantic else "cluster-lexicon"
        self.backend_ports = [free_port(), free_port()]

    def command(self) -> list[str]:
        ports = ",".join(str(p) for p in self.backend_ports)
        return [sys.executable, "-m", "server.cluster", "--backend-ports", ports]

    async def semantic_stats(self) -> dict[str, float]:
        """Summed over both processes (through the balancer we would see only one)."""
        totals: dict[str, float] = {}
        for port in self.backend_ports:
            for name, value in (await self._semantic_stats(f"http://127.0.0.1:{port}")).items():
                totals[name] = totals.get(name, 0.0) + value
        return totals


class _Api:
    """Just enough of an HTTP client for provisioning, with clear failures."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.token: str | None = None

    async def post(self, path: str, body: Any, expect: int = 201) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        for attempt in range(5):
            async with self.http.post(path, json=body, headers=headers) as resp:
                if resp.status == 429 or resp.status == 503:
                    await asyncio.sleep(float(resp.headers.get("Retry-After", 1)) * (attempt + 1))
                    continue
                text = await resp.text()
                if resp.status != expect:
                    raise TargetError(f"POST {path} -> {resp.status} (expected {expect}): {text[:300]}")
                return await resp.json() if text else None
        raise TargetError(f"POST {path}: still throttled after retries")
