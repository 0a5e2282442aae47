"""The console's users: names, roles and argon2 password hashes in one JSON file.

Read by ``streams.ops.console.app`` at every login (so ``controlfeed console
add-user`` takes effect without a restart) and written by that command. The
file (``CONTROLFEED_CONSOLE_USERS_FILE``, default
``<data_dir>/console/users.json``) is created owner-only (0600); it holds
hashes, never passwords. Roles: ``viewer`` reads, ``operator`` also acts on
alerts, ``admin`` also manages users.

Failure: ``UsersError`` (a ``ControlfeedError`` with a hint) for a file that
cannot be read or written, or a name or role that is not allowed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from streams.exceptions import ControlfeedError
from streams.settings import Settings

__all__ = ["ROLES", "Role", "User", "Users", "UsersError", "users_file"]

Role = Literal["viewer", "operator", "admin"]
ROLES: Final[tuple[Role, ...]] = ("viewer", "operator", "admin")
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_HASHER: Final = PasswordHasher()
_DUMMY: Final = _HASHER.hash("not a password of anyone")
"""Verified against when the name is unknown, so a login takes as long either way."""


class UsersError(ControlfeedError):
    """The users file cannot be used, or a user cannot be added as asked."""


@dataclass(frozen=True, slots=True)
class User:
    """One console user."""

    name: str
    role: Role

    def may(self, role: Role) -> bool:
        """Whether this user has ``role``'s rights (admin > operator > viewer)."""
        return ROLES.index(self.role) >= ROLES.index(role)


def users_file(settings: Settings) -> Path:
    """Where the users are kept."""
    return settings.console_users_file or settings.data_dir / "console" / "users.json"


class Users:
    """The users file; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[float, dict[str, dict[str, str]]] | None = None

    def role_of(self, name: str) -> Role | None:
        """The user's role now, None when they no longer exist (their session ends)."""
        role = self._read().get(name, {}).get("role")
        return role if role in ROLES else None

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            stamp = self.path.stat().st_mtime
        except FileNotFoundError:
            return {}
        except OSError:
            stamp = -1.0
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        users = self._load()
        self._cache = (stamp, users)
        return users

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            raise UsersError(
                f"cannot read the console's users file {self.path}: {err}",
                hint="Fix or remove it, then add users with `controlfeed console add-user`.",
            ) from None
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(users, dict):
            raise UsersError(
                f'{self.path} is not a console users file (no "users" object)',
                hint="Remove it and add users with `controlfeed console add-user`.",
            )
        return users

    def names(self) -> list[str]:
        """Every user name, sorted."""
        return sorted(self._read())

    def check(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None (same cost for unknown names)."""
        entry = self._read().get(name)
        digest = entry.get("hash", _DUMMY) if entry else _DUMMY
        try:
            _HASHER.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return None
        if entry is None or entry.get("role") not in ROLES:
            return None
        return User(name, cast(Role, entry["role"]))

    def add(self, name: str, role: str, password: str) -> None:
        """Add or replace a user; raises ``UsersError`` for a bad name, role or password."""
        if not _NAME.match(name):
            raise UsersError(
                f"{name!r} is not a user name",
                hint="Use 1 to 32 letters, digits, '.', '_' or '-', starting with a letter "
                "or digit.",
            )
        if role not in ROLES:
            raise UsersError(f"{role!r} is not a role", hint=f"Choose one of {', '.join(ROLES)}.")
        if len(password) < 10:
            raise UsersError("the password is too short", hint="Use at least 10 characters.")
        users = dict(self._read())
        users[name] = {"role": role, "hash": _HASHER.hash(password)}
        self._write(users)

    def remove(self, name: str) -> bool:
        """Remove a user; whether there was one."""
        users = dict(self._read())
        if users.pop(name, None) is None:
            return False
        self._write(users)
        return True

    def _write(self, users: dict[str, dict[str, str]]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"users": users}, out, indent=1, sort_keys=True)
            tmp.chmod(0o600)
            tmp.replace(self.path)
        except OSError as err:
            raise UsersError(
                f"cannot write the console's users file {self.path}: {err}",
                hint="Set CONTROLFEED_CONSOLE_USERS_FILE to a writable place.",
            ) from None
