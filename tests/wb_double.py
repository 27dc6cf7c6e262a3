"""A local Wildberries Content API (aiohttp), following the products YAML (dev.wildberries.ru;
mirror: eslazarev/wildberries-sdk specs/02-products.yaml) for the methods publishing uses:

- POST /content/v2/get/cards/list: `settings.filter.textSearch` (a seller article, WB
  article or barcode: substring of vendorCode, nmID or a barcode), `withPhoto` (0, the
  default: only cards WITHOUT photos; 1: with; -1: all), `settings.cursor` {limit,
  updatedAt, nmID} -> {cards, cursor {updatedAt, nmID, total}}, newest `updatedAt` first;
- POST /content/v3/media/file: multipart `uploadfile`, headers X-Nm-Id (required) and
  X-Photo-Number (from 1; greater than the card's count adds the photo after the others,
  otherwise it replaces that place); WB's rules: <= 30 photos, >= 700x900, <= 32 MB, JPG,
  PNG, BMP, static GIF, WebP; errors as `mediaErrors` {additionalErrors, data, error,
  errorText};
- POST /content/v3/media/save: {nmId, data: [links]}: the card's set becomes the links
  (a link that is not one of the card's own: nothing is saved, and still 200).

401 ({title, detail, code, requestId, origin, status, statusText, timestamp}) for a wrong
Authorization header or in `revoked` mode; 429 (the same shape, with X-Ratelimit-Retry) for
requests beyond the Content bucket (burst 5, 600 ms; `interval_s` scales it for tests) or
once at a chosen media/file request (`limit_at_upload`). `save_nothing`: media/file answers
200 and keeps nothing (the "200 but nothing saved" case). `hold_at_upload`: that request
is kept and its answer held back (a crash in between, for the resume test).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from PIL import Image

MAX_PHOTOS = 30
MIN_W, MIN_H = 700, 900
MAX_BYTES = 32 * 2**20
FORMATS = {"JPEG", "PNG", "BMP", "GIF", "WEBP"}


@dataclass
class FakeCard:
    nm_id: int
    vendor_code: str
    title: str
    barcode: str = ""
    photos: list[str] = field(default_factory=list)  # sha256 of each photo, in order
    updated_at: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))


def _gateway_error(status: int, title: str, detail: str) -> dict[str, Any]:
    return {
        "title": title,
        "detail": detail,
        "code": "07e4668e-double",
        "requestId": "0" * 32,
        "origin": "s2s-api-auth-content",
        "status": status,
        "statusText": {401: "Unauthorized", 429: "Too Many Requests"}[status],
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _media_error(text: str) -> dict[str, Any]:
    return {"additionalErrors": None, "data": None, "error": True, "errorText": text}


class WbDouble:
    def __init__(self, token: str = "wb-test-token", *, interval_s: float = 0.6) -> None:
        self.token = token
        self.cards: dict[int, FakeCard] = {}
        self.revoked = False
        self.save_nothing = False
        self.burst, self.interval_s = 5, interval_s
        self.retry_after_s = 1  # X-Ratelimit-Retry
        self.limit_at_upload: int | None = None  # this media/file request (1-based): 429 once
        self.unavailable = 0  # the next this many requests answer 503 (WB's gateway down)
        self.unavailable_at_upload: int | None = None  # this media/file request: 503, not kept
        self.uploads: list[tuple[int, int, str]] = []  # (nmID, X-Photo-Number, sha256) kept
        self.sizes: dict[str, tuple[int, int]] = {}  # sha256 -> (width, height) of a file kept
        self.requests: list[str] = []  # paths, in order
        self.limited: list[str] = []  # paths answered 429
        self.upload_seen = asyncio.Event()
        # this media/file request (1-based) is kept, then its answer never comes (until
        # `release` is set): a crash between WB taking a photo and the bot hearing it
        self.hold_at_upload: int | None = None
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        self.base_url = ""
        self._tokens = float(self.burst)
        self._stamp = 0.0
        self._upload_calls = 0
        self._clock = 0

    def add_card(self, nm_id: int, vendor_code: str, title: str, photos: int = 0) -> FakeCard:
        self._clock += 1
        card = FakeCard(
            nm_id,
            vendor_code,
            title,
            barcode=f"46{nm_id:011d}",
            photos=[f"old-{nm_id}-{i}" for i in range(photos)],
            updated_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=self._clock),
        )
        self.cards[nm_id] = card
        return card

    def photo_url(self, card: FakeCard, index: int) -> str:
        return f"{self.base_url}/vol/{card.nm_id}/images/big/{index + 1}.webp"

    # --- the gateway: auth and the Content bucket ----------------------------------------

    def _gate(self, request: web.Request) -> web.Response | None:
        self.requests.append(request.path)
        if self.unavailable > 0:
            self.unavailable -= 1
            return web.Response(status=503, text="Service Unavailable")
        if self.revoked or request.headers.get("Authorization") != self.token:
            detail = "token problem; token is malformed or revoked"
            return web.json_response(_gateway_error(401, "unauthorized", detail), status=401)
        now = asyncio.get_running_loop().time()
        if self._stamp:
            refill = (now - self._stamp) / self.interval_s if self.interval_s else self.burst
            self._tokens = min(float(self.burst), self._tokens + refill)
        self._stamp = now
        # half a token of slack: a request is timed here when it is read, a little after
        # the client let it go
        if self._tokens < 0.5:
            return self._limited(request)
        self._tokens -= 1.0
        return None

    def _limited(self, request: web.Request) -> web.Response:
        self.limited.append(request.path)
        body = _gateway_error(429, "too many requests", "limited by double")
        return web.json_response(
            body, status=429, headers={"X-Ratelimit-Retry": str(self.retry_after_s)}
        )

    # --- cards/list -----------------------------------------------------------------------

    def _card_json(self, card: FakeCard) -> dict[str, Any]:
        return {
            "nmID": card.nm_id,
            "imtID": card.nm_id + 1000,
            "vendorCode": card.vendor_code,
            "title": card.title,
            "photos": [
                {
                    "big": self.photo_url(card, i),
                    "c246x328": self.photo_url(card, i).replace("/big/", "/c246x328/"),
                    "c516x688": self.photo_url(card, i).replace("/big/", "/c516x688/"),
                    "square": self.photo_url(card, i).replace("/big/", "/square/"),
                    "tm": self.photo_url(card, i).replace("/big/", "/tm/"),
                }
                for i in range(len(card.photos))
            ],
            "sizes": [{"chrtID": card.nm_id * 10, "techSize": "0", "skus": [card.barcode]}],
            "createdAt": "2025-01-01T00:00:00Z",
            "updatedAt": _stamp(card.updated_at),
        }

    async def cards_list(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        try:
            settings = (await request.json())["settings"]
            cursor = settings.get("cursor") or {}
            filters = settings.get("filter") or {}
            limit = int(cursor.get("limit", 100))
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.Response(status=400, text="Request body can not be decoded")
        if not 1 <= limit <= 100:
            return web.json_response(_media_error("Неверное значение limit"), status=400)
        text = str(filters.get("textSearch") or "").casefold()
        with_photo = int(filters.get("withPhoto", 0))
        found = [
            card
            for card in self.cards.values()
            if (
                not text
                or text in card.vendor_code.casefold()
                or text == str(card.nm_id)
                or text == card.barcode
            )
            and (
                with_photo == -1
                or (with_photo == 1 and card.photos)
                or (with_photo == 0 and not card.photos)
            )
        ]
        found.sort(key=lambda c: (c.updated_at, c.nm_id), reverse=True)
        if cursor.get("updatedAt") and cursor.get("nmID"):
            after = (_parse(cursor["updatedAt"]), int(cursor["nmID"]))
            found = [c for c in found if (c.updated_at, c.nm_id) < after]
        page = found[:limit]
        answer: dict[str, Any] = {"total": len(page)}
        if page:
            answer |= {"updatedAt": _stamp(page[-1].updated_at), "nmID": page[-1].nm_id}
        return web.json_response({"cards": [self._card_json(c) for c in page], "cursor": answer})

    # --- media ----------------------------------------------------------------------------

    async def media_file(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        self._upload_calls += 1
        if self._upload_calls == self.limit_at_upload:
            return self._limited(request)
        if self._upload_calls == self.unavailable_at_upload:
            return web.Response(status=503, text="Service Unavailable")
        nm_header = request.headers.get("X-Nm-Id")
        number_header = request.headers.get("X-Photo-Number")
        if not nm_header:
            return web.json_response(_media_error("Не указан артикул WB (X-Nm-Id)"), status=400)
        try:
            nm_id, number = int(nm_header), int(number_header or "")
        except ValueError:
            return web.json_response(_media_error("Некорректный номер медиафайла"), status=400)
        card = self.cards.get(nm_id)
        if card is None:
            return web.json_response(_media_error("Карточка товара не найдена"), status=400)
        if number < 1:
            return web.json_response(_media_error("Некорректный номер медиафайла"), status=400)
        try:
            reader = await request.multipart()
            part = await reader.next()
            while part is not None and getattr(part, "name", None) != "uploadfile":
                part = await reader.next()
            content = await part.read() if part is not None else b""  # type: ignore[union-attr]
        except (ValueError, AssertionError):
            return web.Response(
                status=400, text="Invalid 'boundary' for 'multipart/form-data' request"
            )
        if not content:
            return web.json_response(_media_error("Файл не передан (uploadfile)"), status=400)
        reason = _image_problem(content)
        if reason:
            return web.json_response(_media_error(reason), status=400)
        adding = number > len(card.photos)
        if adding and len(card.photos) >= MAX_PHOTOS:
            return web.json_response(
                _media_error("Превышено максимальное количество медиафайлов (30)"), status=400
            )
        if not self.save_nothing:
            digest = hashlib.sha256(content).hexdigest()
            if adding:  # any number beyond the count adds after the others
                card.photos.append(digest)
            else:
                card.photos[number - 1] = digest
            self.uploads.append((nm_id, number, digest))
            with Image.open(io.BytesIO(content)) as image:
                self.sizes[digest] = image.size
            self._touch(card)
        self.upload_seen.set()
        if self._upload_calls == self.hold_at_upload:
            self.held.set()
            await self.release.wait()
        return web.json_response(
            {"data": {}, "error": False, "errorText": "", "additionalErrors": None}
        )

    async def media_save(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
            nm_id, links = int(body["nmId"]), list(body["data"])
        except (ValueError, KeyError, TypeError):
            return web.json_response(_media_error("Отсутствует параметр nmId"), status=422)
        card = self.cards.get(nm_id)
        if card is None:
            return web.json_response(_media_error("Карточка товара не найдена"), status=400)
        own = {self.photo_url(card, i): digest for i, digest in enumerate(card.photos)}
        if len(links) <= MAX_PHOTOS and all(link in own for link in links):
            card.photos = [own[link] for link in links]
            self._touch(card)
        return web.json_response(
            {"data": {}, "error": False, "errorText": "", "additionalErrors": None}
        )

    def _touch(self, card: FakeCard) -> None:
        self._clock += 1
        card.updated_at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=self._clock)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=40 * 2**20)
        app.router.add_post("/content/v2/get/cards/list", self.cards_list)
        app.router.add_post("/content/v3/media/file", self.media_file)
        app.router.add_post("/content/v3/media/save", self.media_save)
        return app


def _image_problem(content: bytes) -> str | None:
    if len(content) > MAX_BYTES:
        return "Размер файла превышает 32 Мб"
    try:
        with Image.open(io.BytesIO(content)) as image:
            fmt, (width, height) = image.format, image.size
            animated = bool(getattr(image, "is_animated", False))
    except Exception:
        return "Неподдерживаемый формат файла"
    if fmt not in FORMATS or animated:
        return "Неподдерживаемый формат файла"
    if width < MIN_W or height < MIN_H:
        return f"Минимальное разрешение изображения 700x900, получено {width}x{height}"
    return None


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@asynccontextmanager
async def running_wb(double: WbDouble) -> AsyncIterator[WbDouble]:
    """Serve `double` on 127.0.0.1 (a free port) in this event loop."""
    runner = web.AppRunner(double.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    double.base_url = f"http://127.0.0.1:{port}"
    try:
        yield double
    finally:
        double.release.set()
        await runner.cleanup()


def dump(double: WbDouble) -> str:
    """The double's cards (debugging a failed test)."""
    return json.dumps({c.nm_id: c.photos for c in double.cards.values()}, indent=1)
