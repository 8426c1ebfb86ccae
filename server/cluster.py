"""`python -m server.cluster` (`make cluster`): the several-process layout on one box.

    python -m server.cluster [--backend-ports 8081,8082]

Starts, in this order, and stops in the reverse order on Ctrl-C or SIGTERM:

1. the database: MONGODB_URI, or the local FerretDB/mongod in DATA_DIR/db as `make run`
   does. The launcher opens it once and creates the indexes, the bootstrap staff account
   and (SEED_DEMO=1) the demo data before any server starts: two servers doing it at
   once race on FerretDB (README, "Database").
2. Redis: REDIS_URL, or a redis-server of its own on a free port, files in DATA_DIR/redis.
3. two server processes (`python -m server`) on loopback ports, with one JWT_SECRET
   (a token signed by one must be accepted by the other; without JWT_SECRET each
   development process would draw its own) and TRUSTED_PROXIES=127.0.0.1/32 so they
   take the client's address from HAProxy's X-Forwarded-For.
4. HAProxy (`deploy/haproxy.cfg`) on HOST:PORT, the one address clients use.

Why a launcher and not a Procfile: the order matters (the database and Redis must
answer before the servers start, the servers before the balancer), and nothing may
outlive it. Every child is in its own session (Ctrl-C reaches only us, and we stop
them in order) and gets SIGTERM from the kernel if we die anyway (the parent-death
signal), so a killed run leaves no orphans; a lock on DATA_DIR refuses a second run on
the same files. A child that dies is restarted with back-off, so stopping one server
by hand shows the other taking its clients.

Development only: production runs the same pieces on several machines (README).
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import functools
import logging
import os
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, suppress
from pathlib import Path

import aiohttp

from server.config import Config, ConfigError
from server.seed import DEMO_LOGINS, DEMO_PASSWORD, bootstrap_staff, seed_demo
from server.store.db import open_database
from server.store.devdb import ROOT, DatabaseLauncherError, die_with_parent, free_port

log = logging.getLogger("server.cluster")

BALANCER_CONFIG = ROOT / "deploy" / "haproxy.cfg"
PROCESS_NAMES = ("p1", "p2")  # the `server` lines (and cookie values) of deploy/haproxy.cfg
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 15.0  # the server's own shutdown grace is 10 s
RESTART_FIRST, RESTART_MAX = 1.0, 30.0
# Handled once by the launcher, never by each server (see the module docstring).
LAUNCHER_ONLY = ("SEED_DEMO", "BOOTSTRAP_STAFF_USERNAME", "BOOTSTRAP_STAFF_PASSWORD")


class ClusterError(RuntimeError):
    """A piece would not start; the message says which and what to do."""


class Child:
    """One supervised process: output relayed with its name in front, restarted when it
    dies (with back-off), stopped with SIGTERM and then SIGKILL."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            cwd=ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the launcher only; it stops us in order
            preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only; it exists for this
        )
        assert self.process.stdout is not None
        self._tasks.append(asyncio.create_task(self._relay(self.process.stdout), name=f"{self.name}-output"))

    def supervise(self) -> None:
        self._tasks.append(asyncio.create_task(self._supervise(), name=f"{self.name}-supervisor"))

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def _relay(self, stream: asyncio.StreamReader) -> None:
        width = max(len(n) for n in (*PROCESS_NAMES, "redis", "haproxy"))
        while line := await stream.readline():
            sys.stdout.write(f"{self.name:<{width}} | {line.decode(errors='replace')}")
            sys.stdout.flush()

    async def _supervise(self) -> None:
        delay = RESTART_FIRST
        while True:
            assert self.process is not None
            code = await self.process.wait()
            if self._stopping:
                return
            log.error("%s exited with code %s; restarting in %.0f s", self.name, code, delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            await self.start()
            self.restarts += 1
            delay = min(RESTART_MAX, delay * 2)

    async def stop(self) -> None:
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                log.warning("%s did not stop within %.0f s; killing it", self.name, STOP_TIMEOUT_SECONDS)
                process.kill()
                await process.wait()
        supervisors = [t for t in self._tasks if t.get_name().endswith("-supervisor")]
        for task in supervisors:
            task.cancel()
        if self._tasks:  # let the last lines of output through (the pipe ends with the process)
            await asyncio.wait(self._tasks, timeout=2)
        for task in self._tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


def lock_data_dir(data_dir: Path) -> int:
    """Refuse a second cluster on the same DATA_DIR (its ports and files would clash)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "cluster.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise ClusterError(f"a cluster is already running on {data_dir}; stop it (Ctrl-C), or set DATA_DIR") from None
    return fd


def need(program: str) -> str:
    # Debian puts haproxy in /usr/sbin, which is not on every user's PATH.
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if path is None:
        raise ClusterError(f"{program} is not installed: run `make setup` (scripts/system-deps.sh installs it)")
    return path


def redis_command(port: int, folder: Path) -> list[str]:
    """Redis holds only presence entries and pub/sub here: nothing to save."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        need("redis-server"),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
    ]


def balancer_env(listen: str, backends: list[str]) -> dict[str, str]:
    env = dict(os.environ, IOPCHAT_LISTEN=listen)
    for number, address in enumerate(backends, start=1):
        env[f"IOPCHAT_BACKEND_{number}"] = address
    return env


def server_env(config: Config, port: int, mongodb_uri: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_ONLY}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        MONGODB_URI=mongodb_uri,
        MONGODB_DB=config.mongodb_db,
        REDIS_URL=redis_url,
        JWT_SECRET=config.jwt_secret,
        TRUSTED_PROXIES=",".join(config.trusted_proxies) or "127.0.0.1/32",
        PYTHONUNBUFFERED="1",
    )
    return env


async def answers_ready(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url + "/readyz", timeout=aiohttp.ClientTimeout(total=3)) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def redis_answers(url: str) -> bool:
    import redis.asyncio as aioredis
    import redis.exceptions

    client = aioredis.from_url(url)
    try:
        return bool(await client.ping())
    except (OSError, redis.exceptions.RedisError):
        return False
    finally:
        await client.aclose()


async def run(config: Config, backend_ports: list[int], stop: asyncio.Event) -> None:
    """Start everything, wait for `stop` (which may come during the start), stop
    everything in the reverse order of starting, also after a failed start."""
    need("haproxy")  # before anything starts: say what is missing, not half a cluster
    if config.redis_url is None:
        need("redis-server")
    lock = lock_data_dir(Path(config.data_dir).absolute())
    try:
        async with AsyncExitStack() as started:
            starting = asyncio.create_task(start(config, backend_ports, started))
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                starting.cancel()
                with suppress(asyncio.CancelledError):
                    await starting
                return
            stopped.cancel()
            announce(config, backend_ports, starting.result())
            await stop.wait()
    finally:
        os.close(lock)


async def start(config: Config, backend_ports: list[int], started: AsyncExitStack) -> str:
    """The database, Redis, the servers, then the balancer, each waited for; every piece
    registers its own stop on `started` as soon as it exists. Returns Redis's URL."""
    data_dir = Path(config.data_dir).absolute()
    http = await started.enter_async_context(aiohttp.ClientSession())
    opened = await started.enter_async_context(open_database(config))
    mongodb_uri = config.mongodb_uri or (opened.local.uri if opened.local else "")
    if opened.local is not None:
        supervisor = asyncio.create_task(opened.local.supervise(), name="devdb-supervisor")
        started.callback(supervisor.cancel)
    if config.bootstrap_staff_username and config.bootstrap_staff_password:
        await bootstrap_staff(opened.stores, config.bootstrap_staff_username, config.bootstrap_staff_password)
    if config.seed_demo:
        await seed_demo(opened.stores, timezone=config.clinic_tz)

    redis_url = config.redis_url
    if redis_url is None:
        redis_port = free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        redis = Child("redis", redis_command(redis_port, data_dir / "redis"), dict(os.environ))
        await launch(started, redis, functools.partial(redis_answers, redis_url))

    servers = [
        Child(name, [sys.executable, "-m", "server"], server_env(config, port, mongodb_uri, redis_url))
        for name, port in zip(PROCESS_NAMES, backend_ports, strict=True)
    ]
    await asyncio.gather(
        *(
            launch(started, server, functools.partial(answers_ready, http, local(port)))
            for server, port in zip(servers, backend_ports, strict=True)
        )
    )

    balancer = Child(
        "haproxy",
        [need("haproxy"), "-db", "-f", str(BALANCER_CONFIG)],
        balancer_env(f"{config.host}:{config.port}", [f"127.0.0.1:{p}" for p in backend_ports]),
    )
    await launch(started, balancer, functools.partial(answers_ready, http, public_url(config)))
    return redis_url


async def launch(started: AsyncExitStack, child: Child, ready: Callable[[], Awaitable[bool]]) -> None:
    """Start `child`, register its stop, wait until `ready` says yes, then supervise it."""
    started.push_async_callback(child.stop)
    await child.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_SECONDS
    while not await ready():
        if not child.running:
            code = child.process.returncode if child.process else None
            raise ClusterError(f"{child.name} exited with code {code} while starting (its output is above)")
        if loop.time() > deadline:
            raise ClusterError(f"{child.name} was not ready within {START_TIMEOUT_SECONDS:.0f} s")
        await asyncio.sleep(0.2)
    child.supervise()


def public_url(config: Config) -> str:
    return f"http://{config.host}:{config.port}"


def local(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def announce(config: Config, backend_ports: list[int], redis_url: str) -> None:
    lines = [
        "",
        f"  IOP cohort chat (cluster) is running at {public_url(config)}/",
        "  behind HAProxy: "
        + ", ".join(f"{n} on {local(p)}" for n, p in zip(PROCESS_NAMES, backend_ports, strict=True))
        + f"; Redis at {redis_url.rsplit('@', 1)[-1]}",
    ]
    if config.seed_demo:
        lines.append(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        lines.extend(f"    {login.username:<15} {login.role}" for login in DEMO_LOGINS)
    lines.append("  Ctrl-C stops everything.\n")
    print("\n".join(lines), flush=True)


def parse_ports(value: str) -> list[int]:
    try:
        ports = [int(p) for p in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a comma-separated list of ports") from None
    if len(ports) != len(PROCESS_NAMES) or not all(0 < p < 65536 for p in ports):
        raise argparse.ArgumentTypeError(f"give {len(PROCESS_NAMES)} ports between 1 and 65535")
    return ports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.cluster",
        description="Redis, the database, two server processes and HAProxy on HOST:PORT (development).",
    )
    parser.add_argument(
        "--backend-ports",
        type=parse_ports,
        help="loopback ports of the two server processes (default: two free ports)",
    )
    args = parser.parse_args(argv)
    try:
        config = Config.from_env(os.environ)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if config.production:
        print("server.cluster is a development launcher; run the pieces yourself in production", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pymongo").setLevel(logging.WARNING)  # its command log holds whole documents
    backend_ports = args.backend_ports or [free_port() for _ in PROCESS_NAMES]

    async def main_async() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run(config, backend_ports, stop)

    try:
        asyncio.run(main_async())
    except (ClusterError, DatabaseLauncherError) as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
