"""A local MongoDB-protocol server for development and tests (never for production).

When MONGODB_URI is unset in development, the app starts one itself: `mongod` when it
is on PATH, else FerretDB (built by `make setup` into .bin/) on its embedded SQLite
backend. It listens on a free loopback port, keeps its files in a folder, and is
stopped when the server exits. The test suite uses the same launcher.

Supervised: a database that dies is restarted with back-off (`supervise`); it dies with
the server even when the server is killed outright (the parent-death signal); and a
lock on its folder refuses a second database on the same files.
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import logging
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]  # server/store/devdb.py -> the repository
FERRETDB = ROOT / ".bin" / "ferretdb"
START_TIMEOUT_SECONDS = 60
RESTART_FIRST, RESTART_MAX = 1.0, 30.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the server process dies (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class DatabaseLauncherError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(data_dir: Path, port: int) -> list[str]:
    mongod = shutil.which("mongod")
    if mongod:
        return [mongod, "--dbpath", str(data_dir), "--port", str(port), "--bind_ip", "127.0.0.1", "--quiet"]
    if FERRETDB.exists():
        return [
            str(FERRETDB),
            "--handler=sqlite",
            f"--sqlite-url=file:{data_dir}/",
            f"--state-dir={data_dir}",
            f"--listen-addr=127.0.0.1:{port}",
            "--debug-addr=-",
            "--telemetry=disable",
            "--log-level=error",
        ]
    raise DatabaseLauncherError(
        "No MongoDB-protocol server found. Run `make setup` (it builds FerretDB with Go into .bin/), "
        "or put `mongod` on PATH, or set MONGODB_URI to a running MongoDB."
    )


class LocalDatabase:
    """One local database process; start() -> URI, stop(); restartable on the same port."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._lock: int | None = None
        self.restarts = 0
        self.restarted = asyncio.Event()  # set after each restart by supervise()

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def kind(self) -> str:
        return "mongod" if shutil.which("mongod") else "ferretdb"

    async def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        command = server_command(self.data_dir, self.port)
        log_file = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - owned by the child
        self._process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the server, which then stops us in order
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - prctl only; it exists for this
        )
        log_file.close()
        await self._wait_until_ready()
        log.info("local %s on port %d (files in %s)", self.kind, self.port, self.data_dir)
        return self.uri

    async def _wait_until_ready(self) -> None:
        client: AsyncMongoClient = AsyncMongoClient(self.uri, serverSelectionTimeoutMS=500)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + START_TIMEOUT_SECONDS
            while loop.time() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    raise DatabaseLauncherError(
                        f"the local database exited with code {self._process.returncode}; "
                        f"see {self.data_dir / 'server.log'}"
                    )
                try:
                    await client.admin.command("ping")
                    return
                except PyMongoError:
                    await asyncio.sleep(0.1)
            raise DatabaseLauncherError(f"the local database did not answer within {START_TIMEOUT_SECONDS}s")
        finally:
            await client.close()

    def _take_lock(self) -> None:
        if self._lock is not None:
            return
        fd = os.open(self.data_dir / "lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DatabaseLauncherError(
                f"another server is already running a database on {self.data_dir}; stop it, or set DATA_DIR"
            ) from None
        self._lock = fd

    async def supervise(self) -> None:
        """Restart the database whenever it dies, with back-off, until cancelled."""
        delay = RESTART_FIRST
        while True:
            await asyncio.sleep(0.5)
            process = self._process
            if process is None or process.poll() is None:
                continue
            log.error("the local database exited with code %s; restarting in %.0fs", process.returncode, delay)
            await asyncio.sleep(delay)
            try:
                await self.start()
            except DatabaseLauncherError as exc:
                log.error("restarting the local database failed: %s", exc)
                delay = min(RESTART_MAX, delay * 2)
                continue
            delay = RESTART_FIRST
            self.restarts += 1
            self.restarted.set()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._lock is not None:
            os.close(self._lock)  # releases the flock
            self._lock = None

    def pid(self) -> int | None:
        return self._process.pid if self._process else None
