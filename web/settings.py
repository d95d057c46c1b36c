"""The web application's settings, from the environment with safe development defaults."""

import os
import secrets
from pathlib import Path

from cases.settings import PROJECT_DIR, env_bool, env_int, env_str


def secret_key() -> str:
    """SAGSGANG_SECRET_KEY, or a key generated once for this checkout and kept under var/.

    The key signs session cookies and unsubscribe links; a generated default keeps a
    development machine working across restarts without a key ever being committed.
    """
    configured = os.environ.get("SAGSGANG_SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise SystemExit("SAGSGANG_SECRET_KEY must be at least 32 characters")
        return configured
    path = Path(env_str("SAGSGANG_VAR_DIR", str(PROJECT_DIR / "var"))) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def secure_cookies() -> bool:
    """Send the session cookie over HTTPS only (turn on behind TLS)."""
    return env_bool("SAGSGANG_SECURE_COOKIES", False)


def session_hours() -> int:
    return env_int("SAGSGANG_SESSION_HOURS", 12)


def stale_weeks() -> int:
    """The dashboard's "no movement for N weeks"."""
    return env_int("SAGSGANG_STALE_WEEKS", 6)
