"""SERVICE_BACKEND's URL without its secret: `redacted` for messages, `password` for the
log filter. No Redis library here: the bot imports it whatever its backend."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

#: redis:// and, with TLS, rediss:// (``?ssl_ca_certs=/path/ca.pem`` names a private CA)
REDIS_SCHEMES = ("redis://", "rediss://")


def redacted(url: str) -> str:
    """The URL without its password (redis://user:***@host:port/db)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    netloc = f"{user}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def password(url: str) -> str:
    """The URL's password, "" without one."""
    return urlsplit(url).password or ""
