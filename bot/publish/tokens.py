"""A seller's marketplace token: checked with one cheap read, sealed with SECRET_KEY, kept
in `marketplace_tokens`, opened only to make a request. Never logged, never in an error."""

from __future__ import annotations

from bot.settings import Settings
from bot.storage import Storage
from services.publishing.ratelimit import WB_INTERVAL_S
from services.publishing.tokens import TokenBox, TokenUnreadable, last4
from services.publishing.wb_client import WbClient

WB = "wb"


class TokenKeeper:
    def __init__(self, db: Storage, settings: Settings) -> None:
        self.db = db
        self.base_url = settings.wb_content_api_url
        self.scale = settings.wb_rate_scale
        self._box = TokenBox.from_secret(settings.secret_key.get())

    def __repr__(self) -> str:
        return f"TokenKeeper(base_url={self.base_url!r})"

    @property
    def can_store(self) -> bool:
        """SECRET_KEY is set: a token can be kept (encrypted)."""
        return self._box is not None

    def client(self, token: str) -> WbClient:
        return WbClient(
            token,
            self.base_url,
            interval_s=WB_INTERVAL_S * self.scale,
            retry_scale=self.scale,
        )

    async def check(self, token: str) -> None:
        """One cheap read with the token: raises TokenRevoked (401) or WbError."""
        async with self.client(token) as client:
            await client.check_token()

    async def store(self, user_id: int, token: str) -> str:
        """Seal and keep the token; its last 4 characters (what /settings shows)."""
        assert self._box is not None, "SECRET_KEY is not set"
        shown = last4(token)
        await self.db.store_token(user_id, WB, self._box.seal(token), shown)
        return shown

    async def token(self, user_id: int) -> str | None:
        """The user's token in clear, for a request (None: not connected, or sealed with
        another SECRET_KEY)."""
        stored = await self.db.token_of(user_id, WB)
        if stored is None or self._box is None:
            return None
        try:
            return self._box.open(stored[0])
        except TokenUnreadable:
            return None

    async def last4(self, user_id: int) -> str | None:
        stored = await self.db.token_of(user_id, WB)
        return stored[1] if stored else None

    async def forget(self, user_id: int) -> bool:
        return await self.db.erase_tokens(user_id, WB) > 0
