"""The Wildberries Content API, the parts publishing uses (products YAML: dev.wildberries.ru,
mirrored in eslazarev/wildberries-sdk specs/02-products.yaml).

- POST /content/v2/get/cards/list: `settings.filter.textSearch` (seller article, WB article
  or barcode), `settings.filter.withPhoto` (-1: all cards; its default 0 means "only cards
  WITHOUT photos"), `settings.cursor` {limit <= 100, updatedAt, nmID}; the reply's `cursor`
  {updatedAt, nmID, total}: the next page is asked while `total` >= `limit`.
- POST /content/v3/media/file: multipart, the file in `uploadfile`; headers X-Nm-Id (the
  card's nmID) and X-Photo-Number (from 1; greater than the card's count adds the photo).
- POST /content/v3/media/save: {nmId, data: [urls]} replaces the whole set; a bad link
  and nothing is saved though the reply is 200: a card is always read back afterwards.

Errors: 400/403 carry {data, error, errorText, additionalErrors} (`WbError` keeps
errorText: WB's own reason); 401 carries {title, detail, ...} (`TokenRevoked`); 429 waits
X-Ratelimit-Retry seconds (the whole account's bucket pauses) and tries again. The token
goes only into the Authorization header: no exception, repr or log line holds it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from services.publishing.ratelimit import WB_BURST, WB_INTERVAL_S, TokenBucket, bucket_for

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://content-api.wildberries.ru"
CARDS_LIST = "/content/v2/get/cards/list"
MEDIA_FILE = "/content/v3/media/file"
MEDIA_SAVE = "/content/v3/media/save"
PAGE_LIMIT = 100
#: a 429 without X-Ratelimit-Retry waits this long
DEFAULT_RETRY_S = 1.0
MAX_RETRIES = 5
#: a read that met a network error or a 5xx is tried again this many times, 1 s, 2 s, 4 s
#: apart (an upload never: see `_request`)
NETWORK_RETRIES = 3
NETWORK_BACKOFF_S = 0.5
TIMEOUT_S = 120.0


class WbError(Exception):
    """WB refused a request; `reason` is WB's own text (errorText / detail)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason

    def __str__(self) -> str:
        return f"WB {self.status}: {self.reason}" if self.status else self.reason


class TokenRevoked(WbError):
    """401: the token is wrong, expired or revoked (the seller must /connect again)."""


class WbUnreachable(WbError):
    """No answer (connection refused, timeout), a 5xx, or 429s beyond MAX_RETRIES: the
    request may be tried again later."""


@dataclass(frozen=True)
class Card:
    nm_id: int
    vendor_code: str
    title: str
    photos: tuple[str, ...]  # the `big` URL of each photo, in the card's order

    @property
    def photo_count(self) -> int:
        return len(self.photos)


def _card(raw: dict[str, Any]) -> Card:
    photos = tuple(
        str(photo.get("big") or next(iter(photo.values()), ""))
        for photo in raw.get("photos") or []
        if isinstance(photo, dict)
    )
    return Card(
        nm_id=int(raw["nmID"]),
        vendor_code=str(raw.get("vendorCode") or ""),
        title=str(raw.get("title") or ""),
        photos=photos,
    )


def _reason(body: Any, text: str) -> str:
    """WB's own words from an error body: errorText (Content errors), detail or title (the
    gateway's 401/429), additionalErrors when that is all; else the text as it came."""
    if isinstance(body, dict):
        for key in ("errorText", "detail", "title", "message"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        extra = body.get("additionalErrors")
        if extra:
            return str(extra)
    return text.strip()[:300] or "no reason given"


class WbClient:
    """One seller's Content API; requests of one token share one `TokenBucket`."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        session: aiohttp.ClientSession | None = None,
        burst: int = WB_BURST,
        interval_s: float = WB_INTERVAL_S,
        retry_scale: float = 1.0,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None
        self._burst, self._interval_s = burst, interval_s
        self.retry_scale = retry_scale
        self.max_retries = max_retries
        self.waited_s = 0.0  # seconds spent waiting out 429s (tests, metrics)

    def __repr__(self) -> str:
        return f"WbClient(base_url={self.base_url!r}, token=***)"

    @property
    def bucket(self) -> TokenBucket:
        return bucket_for(self._token, self._burst, self._interval_s)

    async def __aenter__(self) -> WbClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
        return self._session

    async def _request(
        self,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """POST with the rate limit; a 429 waits and tries again; other errors raise. A
        network error or a 5xx is tried again for a read (and media/save, which sets the
        whole set), never for an upload: whether WB took the photo is then decided by
        reading the card back (the caller's resume), not by sending it twice."""
        url = self.base_url + path
        failures = 0
        for _attempt in range(self.max_retries + NETWORK_RETRIES + 1):
            await self.bucket.acquire()
            all_headers = {"Authorization": self._token, **(headers or {})}
            data = None
            if form is not None:
                data = aiohttp.FormData()
                for name, (content, filename, content_type) in form.items():
                    data.add_field(name, content, filename=filename, content_type=content_type)
            try:
                async with self._http().post(
                    url, json=json_body, data=data, headers=all_headers
                ) as response:
                    text = await response.text()
                    retry = response.headers.get("X-Ratelimit-Retry")
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                if form is None and failures < NETWORK_RETRIES:
                    failures += 1
                    await asyncio.sleep(NETWORK_BACKOFF_S * 2**failures * self.retry_scale)
                    continue
                raise WbUnreachable(0, f"{path}: {type(exc).__name__}") from None
            try:
                body = _json(text)
            except ValueError:
                body = None
            if status == 429:
                wait = _seconds(retry) * self.retry_scale
                log.info("WB %s: 429, waiting %.1f s (X-Ratelimit-Retry %s)", path, wait, retry)
                self.waited_s += wait
                self.bucket.pause(wait)
                continue
            if status == 401:
                raise TokenRevoked(401, _reason(body, text))
            if status >= 500:
                if form is None and failures < NETWORK_RETRIES:
                    failures += 1
                    await asyncio.sleep(NETWORK_BACKOFF_S * 2**failures * self.retry_scale)
                    continue
                raise WbUnreachable(status, _reason(body, text))
            if status >= 400:
                raise WbError(status, _reason(body, text))
            if isinstance(body, dict) and body.get("error") is True:
                raise WbError(status, _reason(body, text))
            return body
        raise WbUnreachable(429, f"{path}: still 429 after {self.max_retries} waits")

    # --- cards ----------------------------------------------------------------------------

    async def cards(
        self, text_search: str | None = None, *, limit: int = PAGE_LIMIT, max_pages: int = 1000
    ) -> AsyncIterator[Card]:
        """Every card (all of them, with photos or not) matching `text_search`, page by page."""
        cursor: dict[str, Any] = {"limit": min(limit, PAGE_LIMIT)}
        for _page in range(max_pages):
            filters: dict[str, Any] = {"withPhoto": -1}
            if text_search:
                filters["textSearch"] = text_search
            body = await self._request(
                CARDS_LIST, json_body={"settings": {"cursor": cursor, "filter": filters}}
            )
            raw_cards = (body or {}).get("cards") or []
            for raw in raw_cards:
                yield _card(raw)
            answer = (body or {}).get("cursor") or {}
            if int(answer.get("total") or 0) < cursor["limit"] or not raw_cards:
                return
            cursor = {
                "limit": cursor["limit"],
                "updatedAt": answer.get("updatedAt"),
                "nmID": answer.get("nmID"),
            }

    async def check_token(self) -> None:
        """One cheap read (one card): raises `TokenRevoked` or `WbError` when it fails."""
        await self._request(
            CARDS_LIST,
            json_body={"settings": {"cursor": {"limit": 1}, "filter": {"withPhoto": -1}}},
        )

    async def find_card(self, article: str) -> Card | None:
        """The card whose seller article is `article` (case-insensitive), else whose WB
        article (nmID) it is."""
        wanted = article.strip().casefold()
        by_nm = None
        async for card in self.cards(article.strip()):
            if card.vendor_code.casefold() == wanted:
                return card
            if str(card.nm_id) == wanted:
                by_nm = card
        return by_nm

    async def card(self, nm_id: int) -> Card | None:
        """One card read back by its nmID (its photos now)."""
        async for card in self.cards(str(nm_id)):
            if card.nm_id == nm_id:
                return card
        return None

    # --- media ----------------------------------------------------------------------------

    async def upload_photo(
        self, nm_id: int, number: int, content: bytes, filename: str, content_type: str
    ) -> None:
        """media/file: the photo becomes number `number` of the card (after the existing
        ones when `number` is greater than their count)."""
        await self._request(
            MEDIA_FILE,
            form={"uploadfile": (content, filename, content_type)},
            headers={"X-Nm-Id": str(nm_id), "X-Photo-Number": str(number)},
        )

    async def save_media(self, nm_id: int, urls: list[str]) -> None:
        """media/save: the card's photos become exactly `urls` (read the card back: a bad
        link saves nothing, yet the reply is 200)."""
        await self._request(MEDIA_SAVE, json_body={"nmId": nm_id, "data": urls})


def _json(text: str) -> Any:
    return json.loads(text) if text.strip() else None


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else DEFAULT_RETRY_S
    except ValueError:
        return DEFAULT_RETRY_S
