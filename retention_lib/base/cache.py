"""Content-addressed keys: a result is stored under the hash of everything it was computed from, so a cache
is valid exactly as long as its inputs are unchanged. Every cache of the book keys its files with
:func:`content_key`: the runner's executed notebooks, the library files a chapter imports, the training
code and run behind a fine-tuning checkpoint, and the sentence embeddings of each text."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["content_key"]


def content_key(*parts, algorithm: str = "sha256") -> str:
    """Hex digest of ``parts`` fed to the hash one after the other.

    ``bytes`` go in as they are, ``str`` as UTF-8, a :class:`~pathlib.Path` as the file's bytes, anything
    else as its JSON text with sorted keys (so a dict's order does not matter). Feeding parts one after
    the other is hashing their concatenation: ``content_key(b"ab", b"c") == content_key(b"abc")``.

    Examples
    --------
    >>> content_key("abc") == hashlib.sha256(b"abc").hexdigest()
    True
    >>> content_key({"b": 1, "a": 2}) == content_key({"a": 2, "b": 1})
    True
    """
    h = hashlib.new(algorithm)
    for part in parts:
        if isinstance(part, bytes):
            h.update(part)
        elif isinstance(part, str):
            h.update(part.encode("utf-8"))
        elif isinstance(part, Path):
            h.update(part.read_bytes())
        else:
            h.update(json.dumps(part, sort_keys=True).encode("utf-8"))
    return h.hexdigest()
