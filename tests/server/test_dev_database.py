"""The development database is supervised: restarted when it dies, taken down with the
server, and never run twice on the same files; /readyz answers meanwhile."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from server.store.devdb import DatabaseLauncherError, LocalDatabase
from tests.conftest import World


async def exited(pid: int, timeout: float = 15.0) -> None:
    """Wait for a process to exit, as an event (a pidfd becomes readable), not by polling."""
    fd = os.pidfd_open(pid)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_reader(fd, lambda: done.done() or done.set_result(None))
    try:
        await asyncio.wait_for(done, timeout)
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def test_a_second_database_on_the_same_files_is_refused(tmp_path: Path) -> None:
    first = LocalDatabase(tmp_path / "db")
    await first.start()
    try:
        with pytest.raises(DatabaseLauncherError, match="already running"):
            await LocalDatabase(tmp_path / "db").start()
    finally:
        first.stop()


async def test_a_dead_database_is_restarted_and_readyz_answers_meanwhile(
    world_factory,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    world: World = await world_factory(mongodb_uri=None, data_dir=str(tmp_path), semantic_detection=False)
    local = world.server.ctx.local_database
    assert local is not None and local.pid() is not None
    pid = local.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await exited(pid)

    status, body = await world.http("GET", "/readyz")
    assert status == 503 and body["status"] == "unavailable"
    await asyncio.wait_for(local.restarted.wait(), 30)

    assert (await world.http("GET", "/readyz"))[0] == 200
    room, (alice,) = await world.scene("patient")
    probe = await world.connect(alice, join=room)
    assert (await probe.send(room.id, "back again"))["ok"] is True


async def test_the_database_dies_with_its_server_even_when_the_server_is_killed(tmp_path: Path) -> None:
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from server.store.devdb import LocalDatabase\n"
        "async def main():\n"
        f"    db = LocalDatabase(Path({str(tmp_path / 'db')!r}))\n"
        "    await db.start()\n"
        "    print(db.pid(), flush=True)\n"
        "    await asyncio.sleep(3600)\n"
        "asyncio.run(main())\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        database_pid = int(await asyncio.to_thread(server.stdout.readline))
        server.kill()  # SIGKILL: no clean-up code runs in the server
        await exited(database_pid)
    finally:
        server.kill()
        server.wait()
