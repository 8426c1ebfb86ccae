"""Tokens: issue (HS256) and verify (pinned algorithm, every claim required), then
resolve a verified token into a Principal from the database.

Rules (SECURITY.md J1-J5): the algorithm comes from configuration, never from the token
header; `sub`, `role`, `iss`, `aud`, `iat`, `exp`, `jti` are all required; a token is
also refused when its `jti` was revoked (logout), when the user is deactivated, or when
it was issued before the user's `tokens_valid_after` (deactivation revokes for good).
Error messages never say whether a user exists.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from bson import ObjectId
from bson.errors import InvalidId

from server.config import Config
from server.errors import Invalid, TokenExpired, Unauthorized
from server.models import ROLES, Principal, User
from server.store import Stores

REQUIRED_CLAIMS = ["sub", "role", "iss", "aud", "iat", "exp", "jti"]
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Claims:
    user_id: ObjectId
    role: str
    jti: str
    issued_at: datetime
    expires_at: datetime


def issue_token(config: Config, user: User) -> tuple[str, datetime]:
    """Sign a token for `user`; returns (token, expires_at)."""
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=config.token_ttl_seconds)
    claims = {
        "sub": str(user.id),
        "role": user.role,
        "iss": config.jwt_issuer,
        "aud": config.jwt_audience,
        # NumericDate may be fractional (RFC 7519 2); milliseconds let a deactivation that
        # happens in the same second as a login be ordered correctly.
        "iat": math.floor(now.timestamp() * 1000) / 1000,
        "exp": int(expires_at.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, config.jwt_secret, algorithm="HS256"), expires_at.replace(microsecond=0)


def decode_token(config: Config, token: object) -> Claims:
    """Verify signature and claims. Raises Unauthorized or TokenExpired."""
    if not isinstance(token, str) or not token or len(token) > 8192:
        raise Unauthorized()
    key = config.jwt_public_key if config.jwt_public_key else config.jwt_secret
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[config.jwt_algorithm],
            audience=config.jwt_audience,
            issuer=config.jwt_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS, "strict_aud": True},
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired() from None
    except jwt.PyJWTError:
        raise Unauthorized() from None
    try:
        user_id = ObjectId(payload["sub"])
    except (InvalidId, TypeError):
        raise Unauthorized() from None
    if payload["role"] not in ROLES or not isinstance(payload["jti"], str):
        raise Unauthorized()
    return Claims(
        user_id=user_id,
        role=payload["role"],
        jti=payload["jti"],
        issued_at=datetime.fromtimestamp(float(payload["iat"]), UTC),
        expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
    )


async def authenticate(config: Config, stores: Stores, token: object) -> tuple[Principal, User]:
    """Token -> (Principal, User), checked against the database (active, not revoked)."""
    claims = decode_token(config, token)
    user = await stores.users.get(claims.user_id)
    if user is None or not user.active or user.role != claims.role:
        raise Unauthorized()
    if user.tokens_valid_after is not None and claims.issued_at <= user.tokens_valid_after:
        raise Unauthorized()
    if await stores.users.is_revoked(claims.jti):
        raise Unauthorized()
    cohort_ids = frozenset() if user.role == "staff" else await stores.cohorts.ids_for(user.id, user.role)
    principal = Principal(
        user_id=user.id,
        role=user.role,
        display_name=user.display_name,
        language=user.language,
        jti=claims.jti,
        token_exp=claims.expires_at,
        cohort_ids=cohort_ids,
    )
    return principal, user


def parse_object_id(value: object) -> ObjectId:
    """Only a 24-hex-digit string is an id; anything else (dicts, operators) is refused."""
    if not isinstance(value, str) or len(value) != 24:
        raise Invalid("That id is not valid.")
    try:
        return ObjectId(value)
    except InvalidId:
        raise Invalid("That id is not valid.") from None
