"""Settings from the environment, with embedded defaults for a fresh machine.

Each helper fails loudly on a malformed value rather than guessing.
"""

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be true or false, got {raw!r}")


def database_url() -> str:
    return env_str("DATABASE_URL", f"sqlite:///{PROJECT_DIR / 'var' / 'sagsgang.db'}")


def organisation_file() -> Path:
    return Path(env_str("SAGSGANG_ORGANISATION", str(PROJECT_DIR / "config" / "ballerup.toml")))


def site_url() -> str:
    """Base address used in links in emails and feeds."""
    return env_str("SAGSGANG_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
