"""Configuration, read from the environment once (12-factor).

Every variable the server understands is read here and nowhere else; the README's
configuration table mirrors `Config.from_env`. A missing or invalid value raises
`ConfigError` naming the variable, so a misconfigured deployment stops at start-up
instead of misbehaving later.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MIN_SECRET_LENGTH = 32
DEMO_SECRET_MARKERS = ("change-me", "changeme", "secret", "development", "demo")


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Config:
    app_env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8080
    mongodb_uri: str | None = None
    mongodb_db: str = "iopchat"
    data_dir: Path = Path("./var")
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48), repr=False)
    jwt_public_key: str | None = field(default=None, repr=False)
    jwt_algorithm: str = "HS256"
    jwt_issuer: str = "iopchat"
    jwt_audience: str = "iopchat"
    token_ttl_seconds: int = 43200
    bootstrap_staff_username: str | None = None
    bootstrap_staff_password: str | None = field(default=None, repr=False)
    seed_demo: bool = False
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()  # CIDRs whose X-Forwarded-For names the real client
    redis_url: str | None = field(default=None, repr=False)
    # Several server processes on one database (default: when REDIS_URL is set). Each change
    # to a room's history is then stamped at once for the other processes' caches.
    shared_database: bool = False
    escalate_after_seconds: float = 120.0
    alert_webhook_url: str | None = None
    public_url: str | None = None  # the console's address, for links in the webhook
    crisis_hold: str = "hold"
    crisis_resources_for_medium: bool = False
    clinic_oncall_phone: str | None = None
    log_level: str = "INFO"
    lexicon_override_path: str | None = None
    retention_days: int | None = None
    metrics_public: bool = True
    db_timeout_ms: int = 5000
    idle_timeout_seconds: int | None = None
    max_socket_payload_bytes: int = 64 * 1024
    max_sockets_per_user: int = 5
    max_sockets_per_address: int = 500  # a clinic's wifi puts many patients behind one address
    handshakes_per_second: float = 20.0  # per client address, bursts of ten times that
    # Slow clients (slowloris): a connection must send a whole request head within this many
    # seconds of opening (or of its last answer), and a request body within http_body_seconds.
    # Connects and joins whose database work runs at once; the rest wait in line, so that
    # a reconnect storm queues here instead of timing out in the database driver's pool.
    # Sends and alerts never wait for it.
    admission_concurrency: int = 32
    http_idle_seconds: float = 15.0
    http_body_seconds: float = 15.0
    silence_days: int = 3  # 0: no silence signal
    allow_insecure_transport: bool = False  # production: plaintext database/Redis only if set
    semantic_detection: bool = True
    model_dir: str | None = None
    semantic_queue_limit: int = 32
    # Daily check-ins: the local day of a cohort without its own `timezone` (an IANA name),
    # and the rule that raises a medium `checkin` flag (0 / 11 turn a half of it off).
    clinic_tz: str = "UTC"
    checkin_flag_mood_at_most: int = 1
    checkin_flag_craving_at_least: int = 8

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def issues_tokens(self) -> bool:
        """Whether this server signs its own tokens (HS256) or only verifies an IdP's."""
        return self.jwt_public_key is None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Build and validate a Config from an environment mapping (usually os.environ)."""
        reader = _Reader(env)
        app_env = reader.choice("APP_ENV", ("development", "production"), "development")
        secret = reader.text("JWT_SECRET")
        public_key = reader.text("JWT_PUBLIC_KEY")
        algorithm = reader.text("JWT_ALGORITHM") or ("HS256" if public_key is None else "RS256")
        config = cls(
            app_env=app_env,
            host=reader.text("HOST") or "127.0.0.1",
            port=reader.integer("PORT", 8080, 0, 65535),
            mongodb_uri=reader.text("MONGODB_URI"),
            mongodb_db=reader.text("MONGODB_DB") or "iopchat",
            data_dir=Path(reader.text("DATA_DIR") or "./var"),
            jwt_secret=secret or secrets.token_urlsafe(48),
            jwt_public_key=public_key,
            jwt_algorithm=algorithm,
            jwt_issuer=reader.text("JWT_ISSUER") or "iopchat",
            jwt_audience=reader.text("JWT_AUDIENCE") or "iopchat",
            token_ttl_seconds=reader.integer("TOKEN_TTL_SECONDS", 43200, 60, 7 * 86400),
            bootstrap_staff_username=reader.text("BOOTSTRAP_STAFF_USERNAME"),
            bootstrap_staff_password=reader.text("BOOTSTRAP_STAFF_PASSWORD"),
            seed_demo=reader.flag("SEED_DEMO"),
            cors_origins=tuple(o.strip() for o in (reader.text("CORS_ORIGINS") or "").split(",") if o.strip()),
            trusted_proxies=_cidrs(reader.text("TRUSTED_PROXIES")),
            redis_url=reader.text("REDIS_URL"),
            shared_database=reader.flag("SHARED_DATABASE", default=bool(reader.text("REDIS_URL"))),
            escalate_after_seconds=reader.number("ESCALATE_AFTER_SECONDS", 120.0, 0.1, 86400.0),
            alert_webhook_url=reader.text("ALERT_WEBHOOK_URL"),
            public_url=(reader.text("PUBLIC_URL") or "").rstrip("/") or None,
            crisis_hold=reader.choice("CRISIS_HOLD", ("hold", "show"), "hold"),
            crisis_resources_for_medium=reader.flag("CRISIS_RESOURCES_FOR_MEDIUM"),
            clinic_oncall_phone=reader.text("CLINIC_ONCALL_PHONE"),
            log_level=reader.choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "INFO"),
            lexicon_override_path=reader.text("LEXICON_OVERRIDE_PATH"),
            retention_days=reader.optional_int("RETENTION_DAYS", 1, 36500),
            metrics_public=reader.flag("METRICS_PUBLIC", default=app_env != "production"),
            db_timeout_ms=reader.integer("DB_TIMEOUT_MS", 5000, 100, 60000),
            idle_timeout_seconds=reader.optional_int("IDLE_TIMEOUT_SECONDS", 1, 7 * 86400),
            allow_insecure_transport=reader.flag("ALLOW_INSECURE_TRANSPORT"),
            silence_days=reader.integer("SILENCE_DAYS", 3, 0, 60),
            handshakes_per_second=float(reader.integer("HANDSHAKES_PER_SECOND", 20, 1, 100000)),
            max_sockets_per_address=reader.integer("MAX_SOCKETS_PER_ADDRESS", 500, 1, 100000),
            max_sockets_per_user=reader.integer("MAX_SOCKETS_PER_USER", 5, 1, 100),
            admission_concurrency=reader.integer("ADMISSION_CONCURRENCY", 32, 1, 10000),
            http_idle_seconds=reader.number("HTTP_IDLE_SECONDS", 15.0, 0.5, 3600.0),
            http_body_seconds=reader.number("HTTP_BODY_SECONDS", 15.0, 0.5, 3600.0),
            semantic_detection=reader.flag("SEMANTIC_DETECTION", default=True),
            model_dir=reader.text("MODEL_DIR"),
            semantic_queue_limit=reader.integer("SEMANTIC_QUEUE_LIMIT", 32, 1, 10000),
            clinic_tz=reader.timezone("CLINIC_TZ", "UTC"),
            checkin_flag_mood_at_most=reader.integer("CHECKIN_FLAG_MOOD_AT_MOST", 1, 0, 5),
            checkin_flag_craving_at_least=reader.integer("CHECKIN_FLAG_CRAVING_AT_LEAST", 8, 0, 11),
        )
        config.check_production(secret_given=secret is not None)
        if algorithm not in ("HS256", "RS256", "ES256"):
            raise ConfigError(f"JWT_ALGORITHM={algorithm!r} is not one of HS256, RS256, ES256")
        if public_key is None and algorithm != "HS256":
            raise ConfigError(f"JWT_ALGORITHM={algorithm} needs JWT_PUBLIC_KEY")
        if public_key is not None and algorithm == "HS256":
            raise ConfigError("JWT_PUBLIC_KEY needs JWT_ALGORITHM=RS256 or ES256 (never mix HS and RS/ES)")
        return config

    def check_production(self, *, secret_given: bool) -> None:
        """Refuse the configurations that are only safe on a developer's machine."""
        if not self.production:
            return
        if self.issues_tokens:
            if not secret_given:
                raise ConfigError("APP_ENV=production needs JWT_SECRET (a random string of 32+ characters)")
            if len(self.jwt_secret) < MIN_SECRET_LENGTH:
                raise ConfigError(f"JWT_SECRET is too short for production: use {MIN_SECRET_LENGTH}+ random characters")
            if any(marker in self.jwt_secret.lower() for marker in DEMO_SECRET_MARKERS):
                raise ConfigError("JWT_SECRET looks like a placeholder; generate a random one for production")
        if self.seed_demo:
            raise ConfigError("SEED_DEMO=1 is refused in production: demo accounts have published passwords")
        if not self.mongodb_uri:
            raise ConfigError("APP_ENV=production needs MONGODB_URI (a MongoDB replica set)")
        if not self.allow_insecure_transport:
            if not _mongodb_uses_tls(self.mongodb_uri):
                raise ConfigError(
                    "MONGODB_URI must use TLS in production (mongodb+srv://, or tls=true); "
                    "set ALLOW_INSECURE_TRANSPORT=1 only on a private network you trust"
                )
            if self.redis_url and not self.redis_url.startswith("rediss://"):
                raise ConfigError(
                    "REDIS_URL must use TLS in production (rediss://); "
                    "set ALLOW_INSECURE_TRANSPORT=1 only on a private network you trust"
                )


def _mongodb_uses_tls(uri: str) -> bool:
    """mongodb+srv:// turns TLS on by default; mongodb:// needs tls=true (or ssl=true)."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(uri)
    options = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
    tls = options.get("tls", options.get("ssl"))
    if parts.scheme == "mongodb+srv":
        return tls != "false"
    return tls == "true"


def _cidrs(value: str | None) -> tuple[str, ...]:
    """TRUSTED_PROXIES: comma-separated CIDRs (or addresses), checked at start."""
    import ipaddress

    cidrs = tuple(c.strip() for c in (value or "").split(",") if c.strip())
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(f"TRUSTED_PROXIES: {cidr!r} is not an address or CIDR") from None
    return cidrs


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, key: str) -> str | None:
        value = self._env.get(key)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        raw = self.text(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{key}={raw!r} is not a whole number") from None
        if not low <= value <= high:
            raise ConfigError(f"{key}={value} is outside {low}..{high}")
        return value

    def optional_int(self, key: str, low: int, high: int) -> int | None:
        if self.text(key) is None:
            return None
        return self.integer(key, 0, low, high)

    def number(self, key: str, default: float, low: float, high: float) -> float:
        raw = self.text(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{key}={raw!r} is not a number") from None
        if not low <= value <= high:
            raise ConfigError(f"{key}={value} is outside {low}..{high}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        raw = self.text(key)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}={raw!r} should be 1 or 0")

    def timezone(self, key: str, default: str) -> str:
        from server.clock import UnknownTimezone, zone

        raw = self.text(key) or default
        try:
            zone(raw)
        except UnknownTimezone:
            raise ConfigError(f"{key}={raw!r} is not an IANA time zone (e.g. America/Chicago)") from None
        return raw

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        raw = self.text(key)
        if raw is None:
            return default
        if raw not in choices:
            raise ConfigError(f"{key}={raw!r} should be one of {', '.join(choices)}")
        return raw
