"""Pseudonymous customer ids: HMAC-SHA256 of the id under a secret key.

The same key gives the same pseudonym for the same id (so tables can still be joined), another key
gives unrelated pseudonyms, and without the key nobody can go back from a pseudonym to the id, or
check a guessed id against it (which a plain hash would allow: customer ids are few and guessable).
The key is read from a file outside the repository (``python -m retention_lib keygen`` makes one) or
the environment variable :data:`KEY_ENV`; only the smoke profile, whose data are not real customers,
has a fixed test key. Pseudonyms are
still personal data under the GDPR (whoever holds the key can re-identify): they reduce who can
identify a person, they do not make data anonymous.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["KEY_ENV", "TEST_KEY", "PseudonymKeyError", "default_key_file", "keygen", "load_key", "pseudonymise"]

#: the environment variable that holds the key (at least 32 characters)
KEY_ENV = "RETENTION_PSEUDONYM_KEY"
#: the smoke profile's fixed key: its runs must be reproducible anywhere, and its data are not real customers
TEST_KEY = b"smoke-profile-test-key-not-secret-0123456789"
MIN_KEY_BYTES = 32


class PseudonymKeyError(RuntimeError):
    """No usable key: none set, too short, or inside the repository."""


def default_key_file() -> Path:
    """Where :func:`keygen` writes the key and :func:`load_key` looks for it: outside any repository,
    in the user's configuration folder (``$XDG_CONFIG_HOME`` or ``~/.config``)."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "retention-lib" / "pseudonym.key"


def keygen(path: str | os.PathLike | None = None, repo_root: str | os.PathLike | None = None) -> Path:
    """Write a new random key (64 hex digits, from :mod:`secrets`) to ``path`` (default
    :func:`default_key_file`), readable by its owner only. Refuses to overwrite a key (pseudonyms made
    with it would no longer match) or to write inside ``repo_root``."""
    path = Path(path or default_key_file()).expanduser().resolve()
    if repo_root is not None and path.is_relative_to(Path(repo_root).resolve()):
        raise PseudonymKeyError(f"{path} is inside the repository ({repo_root}): keep the key outside")
    if path.exists():
        raise PseudonymKeyError(
            f"{path} already holds a key; delete it first if you really want a new one "
            "(every pseudonym made with the old key changes)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path


def load_key(
    profile: str, key_file: str | os.PathLike | None = None, repo_root: str | os.PathLike | None = None
) -> bytes:
    """The pseudonymisation key of a run in ``profile``.

    The smoke profile always uses :data:`TEST_KEY` (its runs must give the same numbers anywhere, and
    its data are not real customers). Every other profile reads ``key_file``, else the environment
    variable :data:`KEY_ENV`, else :func:`default_key_file`; without any of them it is an error that
    says how to make one. A key file inside ``repo_root`` is refused (it would end up committed).
    """
    if profile == "smoke":
        return TEST_KEY
    path = Path(key_file).expanduser().resolve() if key_file is not None else None
    if path is None and not os.environ.get(KEY_ENV) and default_key_file().exists():
        path = default_key_file()
    if path is not None:
        if repo_root is not None and path.is_relative_to(Path(repo_root).resolve()):
            raise PseudonymKeyError(
                f"key file {path} is inside the repository ({repo_root}): keep it outside, where it cannot be committed"
            )
        if not path.exists():
            raise PseudonymKeyError(f"key file {path} does not exist")
        key = path.read_bytes().strip()
    elif os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].encode()
    else:
        raise PseudonymKeyError(
            f"no pseudonymisation key for profile '{profile}': run `python -m retention_lib keygen` (writes a random key "
            f"to {default_key_file()}, outside the repository), or set the environment variable {KEY_ENV} to a secret "
            f"of at least {MIN_KEY_BYTES} characters"
        )
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(f"the pseudonymisation key has {len(key)} bytes; use at least {MIN_KEY_BYTES}")
    return key


def pseudonymise(ids, key: bytes, length: int = 32) -> np.ndarray:
    """The pseudonym of each id: the first ``length`` hex digits of HMAC-SHA256(key, str(id)).

    32 hex digits (128 bits) make a collision among even billions of customers vanishingly unlikely.
    Missing ids are an error, not a pseudonym of "nan".
    """
    if not isinstance(key, (bytes, bytearray)) or len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(f"key must be bytes of at least {MIN_KEY_BYTES}; use load_key()")
    if not 8 <= length <= 64:
        raise ValueError(f"length must be between 8 and 64 hex digits, got {length}")
    values = pd.Series(np.asarray(ids, dtype=object))
    if values.isna().any():
        raise ValueError(
            f"ids: {int(values.isna().sum())} missing value(s), e.g. at position {int(values.isna().idxmax())}"
        )
    return np.array(
        [hmac.new(bytes(key), str(v).encode(), hashlib.sha256).hexdigest()[:length] for v in values], dtype=object
    )
