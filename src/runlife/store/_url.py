"""Store URLs, in SQLAlchemy's style.

``sqlite:///relative.db``, ``sqlite:////abs.db``, ``sqlite:///:memory:``,
``postgresql://user@host:port/db``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import attrs

from ._errors import StoreURLError

__all__ = ["StoreURL", "parse_url", "redact"]

_FORMS = (
    "sqlite:///relative/path/runs.db, sqlite:////absolute/path/runs.db, sqlite:///:memory:, "
    "or postgresql://user@host:port/dbname"
)
_SQLITE_OPTIONS = {"synchronous": ("off", "normal", "full", "extra"), "timeout": None}


@attrs.frozen
class StoreURL:
    """A parsed store URL: *backend* ``"sqlite"`` or ``"postgresql"``, and where it points.

    For SQLite, *target* is a file path or ``":memory:"``; for PostgreSQL, the libpq
    connection URL. *options* are the SQLite query options (``synchronous``, ``timeout``).
    """

    backend: str
    target: str
    options: dict[str, str]
    text: str


def redact(url: str) -> str:
    """*url* with any password replaced by ``***`` (for messages and ``repr``)."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def parse_url(url: object) -> StoreURL:
    """Parse a store URL.

    Raises:
        StoreURLError: not a string, an unknown scheme, or a malformed SQLite URL.
    """
    if not isinstance(url, str):
        raise StoreURLError(f"a store URL must be a string, got {type(url).__name__}: use {_FORMS}")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StoreURLError(f"not a store URL: {redact(url)!r}; use {_FORMS}")
    scheme = scheme.lower()
    if scheme == "sqlite":
        return _sqlite(url, rest)
    if scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
        parts = urlsplit(url)
        target = urlunsplit(("postgresql", *parts[1:]))
        return StoreURL("postgresql", target, {}, redact(url))
    raise StoreURLError(f"unsupported store URL scheme {scheme!r} in {redact(url)!r}: use {_FORMS}")


def _sqlite(url: str, rest: str) -> StoreURL:
    path, _, query = rest.partition("?")
    if path in {"", "/:memory:"}:
        path = ":memory:"
    elif path.startswith("/"):
        path = path[1:]  # sqlite:///rel -> rel; sqlite:////abs -> /abs
    else:
        raise StoreURLError(
            f"a SQLite URL has three slashes before a relative path and four before an "
            f"absolute one, got {url!r}: use {_FORMS}"
        )
    if path == "":
        raise StoreURLError(f"no database path in {url!r}: use {_FORMS}")
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if key not in _SQLITE_OPTIONS:
            raise StoreURLError(
                f"unknown SQLite option {key!r} in {url!r}: known options are "
                f"{', '.join(_SQLITE_OPTIONS)}"
            )
        allowed = _SQLITE_OPTIONS[key]
        if allowed is not None and value.lower() not in allowed:
            raise StoreURLError(
                f"SQLite option {key}={value!r} in {url!r}: expected one of {', '.join(allowed)}"
            )
        if key == "timeout":
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1.0
            if seconds < 0:
                raise StoreURLError(f"SQLite option timeout={value!r}: expected seconds >= 0")
        options[key] = value.lower()
    return StoreURL("sqlite", path, options, url)
