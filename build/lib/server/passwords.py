"""Password hashing with Argon2id (memory-hard), off the event loop.

Hashing costs tens of milliseconds of CPU by design; running it inline would stall
every socket on the process, so it runs in the default thread pool.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()  # argon2-cffi's RFC 9106 low-memory profile: 64 MiB, t=3, p=4
# Verified against when the username does not exist, so that timing does not reveal it.
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)
