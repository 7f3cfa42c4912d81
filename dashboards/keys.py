"""The wall's secrets, never in config.toml or git:

- the per-deployment **secret key** that signs Bokeh sessions and the login cookie: env
  ``BOKEH_SECRET_KEY`` (Bokeh's own variable), else ``[dashboards] secret_file``
  (relative: under ``[core] data_dir``), created with mode 0600 on first start;
- the **dashboards' token** for the server's ``/ws`` and API: env ``[dashboards] token_env``,
  else ``token_file``, else the one ``cxpulse run`` generated in memory (``token``).

A file that others may read is refused (like ssh's keys): fix it with ``chmod 600``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import stat
from pathlib import Path

from bokeh.util.token import generate_secret_key

from dashboards.config import WallSettings
from stream.config import ConfigError

SECRET_ENV = "BOKEH_SECRET_KEY"
MIN_SECRET_CHARS = 32


def private_path(cfg: WallSettings, name: str) -> Path:
    """``name`` as given when absolute, else under ``[core] data_dir``."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else Path(cfg.core.data_dir) / path


def read_private(path: Path, key: str) -> str:
    """The stripped text of a file only its owner may read; ConfigError naming ``key``."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"{key}: {path} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{key}: {path} may be read by others (mode {stat.S_IMODE(mode):o}); "
                          f"run: chmod 600 {path}")
    return path.read_text(encoding="utf-8").strip()


def write_private(path: Path, text: str) -> bool:
    """Create ``path`` with mode 0600 holding ``text``; False when it already exists (another
    process made it first: read that one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return True


def secret_key(cfg: WallSettings) -> bytes:
    """The deployment's secret (see the module docstring), created on first use."""
    given = os.environ.get(SECRET_ENV, "").strip()
    key = f"{SECRET_ENV} (environment)"
    if not given:
        path = private_path(cfg, cfg.dashboards.secret_file)
        key = "dashboards.secret_file"
        if not path.exists():
            write_private(path, generate_secret_key())
        given = read_private(path, key)
    if len(given) < MIN_SECRET_CHARS:
        raise ConfigError(f"{key}: the secret key needs at least {MIN_SECRET_CHARS} characters")
    return given.encode()


def derived(secret: bytes, purpose: str) -> str:
    """A separate key per use (Bokeh's session signatures, Tornado's cookies) from the one
    secret, so one scheme's signature is never valid in the other."""
    return hmac.new(secret, f"cxpulse wall: {purpose}".encode(), hashlib.sha256).hexdigest()


def dashboards_token(cfg: WallSettings) -> str:
    """The token the dashboards present to the server: ``token_env``, else ``token_file``,
    else the in-memory one of ``cxpulse run``; empty when there is none."""
    dash = cfg.dashboards
    if dash.token_env:
        with contextlib.suppress(KeyError):
            value = os.environ[dash.token_env].strip()
            if value:
                return value
    if dash.token_file:
        value = read_private(private_path(cfg, dash.token_file), "dashboards.token_file")
        if not value:
            raise ConfigError(f"dashboards.token_file: {dash.token_file} is empty")
        return value
    return dash.token
