"""Credentials of the NATS users: generated once per deployment, kept under the data dir.

The embedded server's users (``stream/natsauth.py``) get random passwords at first start;
``<data_dir>/nats/credentials.json`` (mode 0600, never in git) keeps them in plain text for
the local services and for ``cxpulse nats-user``, and ``auth.conf`` holds only their bcrypt
hashes for nats-server. An external cluster hands each service its own login instead
(``[nats] credentials_file`` with the same JSON shape, or a ``.creds`` file per user).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

import bcrypt
import msgspec

from stream.natsauth import permission_matrix, render_conf


class Login(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How one user connects: a password, or a JWT ``.creds`` file of an operator setup."""

    user: str
    password: str = ""
    creds: str = ""


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def load_logins(path: Path) -> dict[str, Login]:
    """User -> login from a credentials file (empty when it does not exist)."""
    if not path.exists():
        return {}
    return msgspec.json.decode(path.read_bytes(), type=dict[str, Login])


def ensure_logins(path: Path, users: Iterable[str]) -> dict[str, Login]:
    """The logins of ``users``: existing passwords kept, missing users given a new random
    one (so adding a location adds its device user without changing anyone else's)."""
    logins = load_logins(path)
    missing = [u for u in users if u not in logins]
    for user in missing:
        logins[user] = Login(user=user, password=secrets.token_urlsafe(24))
    if missing or not path.exists():
        _write_private(path, msgspec.json.format(msgspec.json.encode(logins)))
    return logins


def password_hash(password: str) -> str:
    """bcrypt hash in the ``$2a$`` form nats-server reads. The passwords are 192-bit random
    tokens, so a low cost loses nothing and keeps every connect (and start-up) fast."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=6, prefix=b"2a")).decode()


def write_server_conf(path: Path, text: str) -> None:
    """The generated server config (hashes only), readable by its owner only."""
    _write_private(path, text.encode())


def prepare_auth(directory: Path, prefix: str, names: dict[str, str],
                 locations: Iterable[str]) -> tuple[Path, dict[str, Login]]:
    """Generate (or refresh) the embedded server's authorization: ``auth.conf`` and
    ``credentials.json`` in ``directory``. Returns the config path and every login."""
    users = permission_matrix(prefix, names, locations)
    logins = ensure_logins(directory / "credentials.json", users)
    conf = render_conf(users, {u: password_hash(logins[u].password) for u in users})
    path = directory / "auth.conf"
    write_server_conf(path, conf)
    return path, logins
