"""`python -m server` serves (the Procfile's command); subcommands manage accounts.

python -m server                     serve
python -m server create-user --username U --password P --role R [--display-name D]
python -m server seed-demo
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web

from server.config import Config, ConfigError
from server.models import ROLES

SHUTDOWN_GRACE_SECONDS = 10


def configure_logging(level: str) -> None:
    from server.app import quiet_payload_loggers

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_payload_loggers()


def serve(config: Config) -> None:
    from server.app import create_app, runner_options
    from server.seed import DEMO_LOGINS, DEMO_PASSWORD

    app = create_app(config)
    url = f"http://{config.host}:{config.port}/"

    async def announce(_: web.Application) -> None:
        print(f"\n  IOP cohort chat is running at {url}", flush=True)
        if config.seed_demo:
            print(f"  Demo logins (password for all: {DEMO_PASSWORD}):", flush=True)
            for login in DEMO_LOGINS:
                print(f"    {login.username:<15} {login.role}", flush=True)
        print(flush=True)

    app.on_startup.append(announce)
    # On SIGTERM, in-flight requests get SHUTDOWN_GRACE_SECONDS (database operations are
    # bounded by DB_TIMEOUT_MS); a long-poll that would otherwise hang on is cut then.
    web.run_app(
        app,
        host=config.host,
        port=config.port,
        print=None,
        **runner_options(config),
        shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
        loop=_event_loop(),
    )


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (make bench measures what it buys), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def with_stores(config: Config, action: Callable[..., Awaitable[None]]) -> None:
    from server.store.db import open_database

    async with open_database(config) as opened:
        await action(opened.stores)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description="IOP cohort chat server")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve HTTP and Socket.IO (the default)")
    create = sub.add_parser("create-user", help="create an account")
    create.add_argument("--username", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--display-name")
    create.add_argument("--language", default="en", choices=("en", "es"))
    sub.add_parser("seed-demo", help="create the demo cohort, rooms and accounts (development only)")
    args = parser.parse_args(argv)

    try:
        config = Config.from_env(os.environ)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)

    if args.command in (None, "serve"):
        serve(config)
        return 0
    if args.command == "create-user":
        from server.passwords import MIN_PASSWORD_LENGTH, hash_password

        if len(args.password) < MIN_PASSWORD_LENGTH:
            print(f"the password needs at least {MIN_PASSWORD_LENGTH} characters", file=sys.stderr)
            return 2

        if not args.display_name and args.role != "patient":
            print("--display-name is required for counselors and staff (patients see it)", file=sys.stderr)
            return 2

        async def create_user(stores) -> None:  # type: ignore[no-untyped-def]
            from server.actions import pseudonyms

            user = await stores.users.create(
                username=args.username,
                display_name=args.display_name or pseudonyms.generate(),
                role=args.role,
                password_hash=await hash_password(args.password),
                language=args.language,
            )
            print(f"created {user.role} {user.username} ({user.id})")

        asyncio.run(with_stores(config, create_user))
        return 0
    if args.command == "seed-demo":
        if config.production:
            print("seed-demo is refused in production", file=sys.stderr)
            return 2
        from server.seed import seed_demo

        async def seed(stores) -> None:  # type: ignore[no-untyped-def]
            for login in await seed_demo(stores, timezone=config.clinic_tz):
                print(f"{login.username} ({login.role})")

        asyncio.run(with_stores(config, seed))
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
