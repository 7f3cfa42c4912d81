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

CREDENTIALS_FILE = "credentials.json"


class Login(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How one user connects: a password, or a JWT ``.creds`` file of an operator setup."""

    user: str
    password: str = ""
    creds: str = ""


class CredentialsError(ValueError):
    """A credentials file that cannot be read, or a service it has no login for."""


def auth_dir(data_dir: str | Path) -> Path:
    """Where the embedded server's ``auth.conf`` and ``credentials.json`` live."""
    return Path(data_dir) / "nats"


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def load_logins(path: Path) -> dict[str, Login]:
    """User (or service) -> login from a credentials file (empty when it does not exist).
    A value is ``{"user", "password"}``, ``{"user", "creds"}``, or just the path of a
    ``.creds`` file (JWT/nkeys: the user is in the file)."""
    if not path.exists():
        return {}
    try:
        raw = msgspec.json.decode(path.read_bytes(), type=dict[str, Login | str])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CredentialsError(f"{path}: {exc}") from None
    return {k: Login(user=k, creds=v) if isinstance(v, str) else v for k, v in raw.items()}


def service_logins(url: str, credentials_file: str, data_dir: str | Path) -> dict[str, Login]:
    """The logins the services of this deployment use (empty: connect with the single
    ``[nats]`` identity): ``[nats] credentials_file`` for an external cluster, else, for
    the embedded server (``[nats] url`` empty), the generated ``credentials.json``."""
    if credentials_file:
        path = Path(credentials_file)
        if not path.exists():
            raise CredentialsError(f"nats.credentials_file: {path} does not exist")
        return load_logins(path)
    if url:
        return {}
    return load_logins(auth_dir(data_dir) / CREDENTIALS_FILE)


def login_for(logins: dict[str, Login], role: str) -> Login | None:
    """The login of ``role``; None when the deployment has no per-service logins."""
    if not logins:
        return None
    found = logins.get(role)
    if found is None:
        raise CredentialsError(f"no NATS login for {role!r} (known: {', '.join(sorted(logins))})")
    return found


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
    logins = ensure_logins(directory / CREDENTIALS_FILE, users)
    conf = render_conf(users, {u: password_hash(logins[u].password) for u in users})
    path = directory / "auth.conf"
    write_server_conf(path, conf)
    return path, logins
