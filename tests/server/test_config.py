"""Configuration: the contract's names and defaults, and production's refusals."""

from __future__ import annotations

import pytest

from server.config import Config, ConfigError

STRONG = "k8Jq2vN0pX5rT7wY1zA4cE6gI9mO3sU5bD7fH0jL"


def test_defaults_match_the_contract() -> None:
    config = Config.from_env({})
    assert (config.app_env, config.host, config.port) == ("development", "127.0.0.1", 8080)
    assert config.mongodb_uri is None and config.mongodb_db == "iopchat"
    assert (config.jwt_issuer, config.jwt_audience, config.token_ttl_seconds) == ("iopchat", "iopchat", 43200)
    assert config.escalate_after_seconds == 120 and config.crisis_hold == "hold"
    assert config.seed_demo is False and config.redis_url is None and config.log_level == "INFO"
    assert len(config.jwt_secret) >= 32  # a random secret per start in development


def test_each_development_start_gets_a_different_random_secret() -> None:
    assert Config.from_env({}).jwt_secret != Config.from_env({}).jwt_secret


@pytest.mark.parametrize(
    "env, complaint",
    [
        ({"MONGODB_URI": "mongodb://db/"}, "JWT_SECRET"),
        ({"MONGODB_URI": "mongodb://db/", "JWT_SECRET": "short"}, "too short"),
        ({"MONGODB_URI": "mongodb://db/", "JWT_SECRET": "change-me-" + "x" * 40}, "placeholder"),
        ({"MONGODB_URI": "mongodb://db/", "JWT_SECRET": STRONG, "SEED_DEMO": "1"}, "SEED_DEMO"),
        ({"JWT_SECRET": STRONG}, "MONGODB_URI"),
        ({"JWT_SECRET": STRONG, "MONGODB_URI": "mongodb://db/?replicaSet=rs0"}, "TLS"),
        ({"JWT_SECRET": STRONG, "MONGODB_URI": "mongodb+srv://db.example/?tls=false"}, "TLS"),
        ({"JWT_SECRET": STRONG, "MONGODB_URI": "mongodb://db/?tls=true", "REDIS_URL": "redis://cache:6379"}, "rediss"),
    ],
)
def test_production_refuses_unsafe_settings(env: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        Config.from_env({"APP_ENV": "production", **env})


def test_production_starts_with_a_strong_secret_and_a_database_over_tls() -> None:
    config = Config.from_env(
        {"APP_ENV": "production", "JWT_SECRET": STRONG, "MONGODB_URI": "mongodb://db/?replicaSet=rs0&tls=true"}
    )
    assert config.production and config.metrics_public is False
    assert Config.from_env(
        {
            "APP_ENV": "production",
            "JWT_SECRET": STRONG,
            "MONGODB_URI": "mongodb+srv://db.example/",
            "REDIS_URL": "rediss://c",
        }
    ).production


def test_production_accepts_plaintext_only_when_told_the_network_is_private() -> None:
    config = Config.from_env(
        {
            "APP_ENV": "production",
            "JWT_SECRET": STRONG,
            "MONGODB_URI": "mongodb://db/?replicaSet=rs0",
            "REDIS_URL": "redis://cache:6379",
            "ALLOW_INSECURE_TRANSPORT": "1",
        }
    )
    assert config.allow_insecure_transport


@pytest.mark.parametrize(
    "env, name",
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"CRISIS_HOLD": "maybe"}, "CRISIS_HOLD"),
        ({"ESCALATE_AFTER_SECONDS": "-1"}, "ESCALATE_AFTER_SECONDS"),
        ({"SEED_DEMO": "perhaps"}, "SEED_DEMO"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"JWT_ALGORITHM": "RS256"}, "JWT_PUBLIC_KEY"),
        ({"JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----", "JWT_ALGORITHM": "HS256"}, "never mix"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env)


def test_cors_origins_are_a_comma_separated_list() -> None:
    config = Config.from_env({"CORS_ORIGINS": "https://chat.clinic.example, https://staff.clinic.example"})
    assert config.cors_origins == ("https://chat.clinic.example", "https://staff.clinic.example")


def test_the_cli_refuses_to_serve_production_with_a_default_secret() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "server"],
        env={"APP_ENV": "production", "MONGODB_URI": "mongodb://db/", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "JWT_SECRET" in result.stderr


def test_checkins_default_to_utc_days_and_flag_mood_1_or_craving_8() -> None:
    config = Config.from_env({})
    assert config.clinic_tz == "UTC"
    assert (config.checkin_flag_mood_at_most, config.checkin_flag_craving_at_least) == (1, 8)
    assert Config.from_env({"CLINIC_TZ": "America/Chicago"}).clinic_tz == "America/Chicago"


@pytest.mark.parametrize(
    "env, complaint",
    [
        ({"CLINIC_TZ": "Central Time"}, "CLINIC_TZ"),
        ({"CLINIC_TZ": "../../etc/passwd"}, "CLINIC_TZ"),
        ({"CHECKIN_FLAG_MOOD_AT_MOST": "6"}, "CHECKIN_FLAG_MOOD_AT_MOST"),
        ({"CHECKIN_FLAG_CRAVING_AT_LEAST": "12"}, "CHECKIN_FLAG_CRAVING_AT_LEAST"),
    ],
)
def test_checkin_settings_are_checked_at_start(env: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        Config.from_env(env)
