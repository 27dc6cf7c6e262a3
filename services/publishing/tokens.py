"""A seller's marketplace token, encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from SECRET_KEY: a Fernet key as it is (44 characters of url-safe base64),
any other secret through scrypt (a fixed salt: the same secret gives the same key at every
start). Without SECRET_KEY nothing is stored (`TokenBox.from_secret` returns None).
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_SALT = b"vitrina/marketplace-tokens/v1"


class TokenUnreadable(Exception):
    """The stored ciphertext does not open with this SECRET_KEY (it was changed)."""


@lru_cache(maxsize=4)
def _fernet_key(secret: str) -> bytes:
    try:
        if len(base64.urlsafe_b64decode(secret.encode())) == 32 and len(secret) == 44:
            return secret.encode()
    except (binascii.Error, ValueError):
        pass
    derived = Scrypt(salt=_SALT, length=32, n=2**14, r=8, p=1).derive(secret.encode())
    return base64.urlsafe_b64encode(derived)


class TokenBox:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("SECRET_KEY is empty")
        self._fernet = Fernet(_fernet_key(secret))

    def __repr__(self) -> str:
        return "TokenBox(***)"

    @classmethod
    def from_secret(cls, secret: str) -> TokenBox | None:
        return cls(secret) if secret else None

    def seal(self, token: str) -> bytes:
        return self._fernet.encrypt(token.encode())

    def open(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken:
            raise TokenUnreadable("the token does not decrypt with this SECRET_KEY") from None


def last4(token: str) -> str:
    """What may be shown of a token: its last 4 characters."""
    return token.strip()[-4:]
