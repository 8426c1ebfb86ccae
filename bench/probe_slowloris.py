"""Slowloris probe (issue 11): N connections trickle a request head, a header line a
second, against a server with the default bounds; when does the server close them, and
is a normal request served meanwhile?

    python -m bench.probe_slowloris [--connections 300]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from server.app import create_app, runner_options
from server.config import Config
from server.store.devdb import LocalDatabase, free_port


async def _trickle(writer: asyncio.StreamWriter) -> None:
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: chat\r\n")
    for n in range(100_000):
        await asyncio.sleep(1.0)  # the attacker's pace
        writer.write(b"X-Padding-%d: x\r\n" % n)
        await writer.drain()


async def main(connections: int) -> None:
    local = LocalDatabase(Path(tempfile.mkdtemp(prefix="iopchat-probe-")))
    await local.start()
    config = Config(mongodb_uri=local.uri, mongodb_db="probe", port=free_port(), semantic_detection=False)
    runner = web.AppRunner(create_app(config), handle_signals=False, **runner_options(config))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", config.port).start()
    try:
        started = time.monotonic()
        opened = [await asyncio.open_connection("127.0.0.1", config.port) for _ in range(connections)]
        tricklers = [asyncio.create_task(_trickle(writer)) for _, writer in opened]

        async def closed_after(reader: asyncio.StreamReader) -> float:
            await reader.read()  # returns at EOF
            return time.monotonic() - started

        async with aiohttp.ClientSession() as http:
            t = time.monotonic()
            async with http.get(f"http://127.0.0.1:{config.port}/healthz") as response:
                print(f"a normal request meanwhile: {response.status} in {(time.monotonic() - t) * 1000:.0f} ms")
        times = sorted(await asyncio.gather(*(asyncio.wait_for(closed_after(r), 120) for r, _ in opened)))
        print(
            f"{connections} trickling connections closed by the server after {times[0]:.1f}-{times[-1]:.1f} s "
            f"(HTTP_IDLE_SECONDS={config.http_idle_seconds})"
        )
        for task in tricklers:
            task.cancel()
    finally:
        await runner.cleanup()
        local.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=300)
    asyncio.run(main(parser.parse_args().connections))
