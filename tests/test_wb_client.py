"""services/publishing/wb_client.py over real HTTP against the Content API double
(tests/wb_double.py), which follows the products YAML."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from PIL import Image

from services.publishing.wb_client import TokenRevoked, WbClient, WbError, WbUnreachable
from tests.wb_double import WbDouble, running_wb

TOKEN = "wb-secret-token-0123456789-XyZw"
FAST = 0.01  # the Content bucket's 600 ms interval, scaled for tests


def jpeg(width: int = 720, height: int = 960, shade: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 128, 255 - shade)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
async def wb() -> AsyncIterator[WbDouble]:
    double = WbDouble(TOKEN, interval_s=FAST)
    async with running_wb(double):
        yield double


def client(wb: WbDouble, **kwargs: float) -> WbClient:
    options = {"interval_s": FAST, "retry_scale": 0.02} | kwargs
    return WbClient(TOKEN, wb.base_url, **options)  # type: ignore[arg-type]


async def test_cards_are_listed_page_by_page_with_and_without_photos(wb: WbDouble) -> None:
    for i in range(230):
        wb.add_card(500_000 + i, f"V{i}", f"Товар {i}", photos=i % 2)
    async with client(wb) as api:
        cards = [card async for card in api.cards()]
    assert len(cards) == 230 and len({c.nm_id for c in cards}) == 230
    assert wb.requests.count("/content/v2/get/cards/list") == 3
    assert sum(c.photo_count for c in cards) == 115


async def test_a_card_is_found_by_seller_article_or_wb_article(wb: WbDouble) -> None:
    wb.add_card(111, "1001", "Кружка", photos=2)
    wb.add_card(112, "1001-XL", "Кружка XL")
    async with client(wb) as api:
        by_article = await api.find_card("1001")
        by_nm = await api.find_card("112")
        missing = await api.find_card("9999")
    assert by_article is not None and by_article.nm_id == 111
    assert by_article.title == "Кружка" and by_article.photo_count == 2
    assert by_nm is not None and by_nm.vendor_code == "1001-XL"
    assert missing is None


async def test_photos_are_added_after_the_existing_ones_in_order(wb: WbDouble) -> None:
    card = wb.add_card(111, "1001", "Кружка", photos=2)
    files = [jpeg(shade=i * 40) for i in range(3)]
    async with client(wb) as api:
        for i, content in enumerate(files):
            await api.upload_photo(111, 3 + i, content, f"1001-{i}.jpg", "image/jpeg")
        back = await api.card(111)
    assert back is not None and back.photo_count == 5
    assert card.photos[2:] == [u[2] for u in wb.uploads]
    assert [u[1] for u in wb.uploads] == [3, 4, 5]


async def test_a_number_within_the_count_replaces_that_photo(wb: WbDouble) -> None:
    card = wb.add_card(111, "1001", "Кружка", photos=3)
    async with client(wb) as api:
        await api.upload_photo(111, 1, jpeg(), "main.jpg", "image/jpeg")
        assert (await api.card(111)).photo_count == 3  # type: ignore[union-attr]
    assert card.photos[0] == wb.uploads[0][2] and card.photos[1] == "old-111-1"


async def test_a_429_waits_x_ratelimit_retry_and_goes_on(wb: WbDouble) -> None:
    wb.add_card(111, "1001", "Кружка")
    wb.limit_at_upload = 2
    wb.retry_after_s = 3
    async with client(wb) as api:
        for number in (1, 2, 3):
            await api.upload_photo(111, number, jpeg(shade=number), "a.jpg", "image/jpeg")
        waited = api.waited_s
    assert wb.limited == ["/content/v3/media/file"]
    assert waited == pytest.approx(3 * 0.02)
    assert len(wb.cards[111].photos) == 3


async def test_the_client_keeps_to_the_bucket(wb: WbDouble) -> None:
    """Twelve reads at once: the double's own bucket (burst 5) never has to say 429."""
    wb.add_card(111, "1001", "Кружка")
    wb.interval_s = 0.05
    async with client(wb, interval_s=0.05) as api:
        for _ in range(12):
            await api.check_token()
    assert wb.limited == []
    assert wb.requests.count("/content/v2/get/cards/list") == 12


async def test_a_read_is_tried_again_after_a_5xx_an_upload_is_not(wb: WbDouble) -> None:
    wb.add_card(111, "1001", "Кружка")
    wb.unavailable = 2
    async with client(wb) as api:
        assert (await api.card(111)) is not None  # two 503s, then the answer
        wb.unavailable = 1
        with pytest.raises(WbUnreachable) as caught:
            await api.upload_photo(111, 1, jpeg(), "a.jpg", "image/jpeg")
    assert caught.value.status == 503
    assert wb.requests.count("/content/v3/media/file") == 1  # never sent twice blindly
    assert wb.cards[111].photos == []


async def test_a_revoked_token_is_a_typed_error_without_the_token(
    wb: WbDouble, caplog: pytest.LogCaptureFixture
) -> None:
    wb.revoked = True
    caplog.set_level(logging.DEBUG)
    async with client(wb) as api:
        with pytest.raises(TokenRevoked) as caught:
            await api.check_token()
        assert TOKEN not in repr(api)
    assert caught.value.status == 401
    assert "token problem" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), caplog.text):
        assert TOKEN not in text


async def test_a_wrong_token_is_401_too(wb: WbDouble) -> None:
    async with WbClient("other-token", wb.base_url, interval_s=FAST) as api:
        with pytest.raises(TokenRevoked):
            await api.check_token()


async def test_wb_refusals_carry_wbs_own_reason(wb: WbDouble) -> None:
    full = wb.add_card(111, "1001", "Кружка", photos=30)
    async with client(wb) as api:
        with pytest.raises(WbError) as small:
            await api.upload_photo(111, 31, jpeg(600, 800), "a.jpg", "image/jpeg")
        with pytest.raises(WbError) as thirty_one:
            await api.upload_photo(111, 31, jpeg(), "a.jpg", "image/jpeg")
        with pytest.raises(WbError) as number:
            await api.upload_photo(111, 0, jpeg(), "a.jpg", "image/jpeg")
    assert small.value.status == 400 and "700x900" in small.value.reason
    assert "30" in thirty_one.value.reason
    assert "номер" in number.value.reason
    assert len(full.photos) == 30


async def test_the_double_refuses_a_request_without_x_nm_id(wb: WbDouble) -> None:
    form = aiohttp.FormData()
    form.add_field("uploadfile", jpeg(), filename="a.jpg", content_type="image/jpeg")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            wb.base_url + "/content/v3/media/file",
            data=form,
            headers={"Authorization": TOKEN, "X-Photo-Number": "1"},
        ) as response,
    ):
        body = await response.json()
    assert response.status == 400
    assert body["error"] is True and "X-Nm-Id" in body["errorText"]
    assert set(body) == {"additionalErrors", "data", "error", "errorText"}


async def test_200_but_nothing_saved_shows_on_the_card_read_back(wb: WbDouble) -> None:
    wb.add_card(111, "1001", "Кружка", photos=1)
    wb.save_nothing = True
    async with client(wb) as api:
        await api.upload_photo(111, 2, jpeg(), "a.jpg", "image/jpeg")  # no error...
        back = await api.card(111)
    assert back is not None and back.photo_count == 1  # ...and nothing on the card


async def test_media_save_keeps_only_the_links_given(wb: WbDouble) -> None:
    wb.add_card(111, "1001", "Кружка", photos=4)
    async with client(wb) as api:
        card = await api.card(111)
        assert card is not None
        await api.save_media(111, list(card.photos[:2]))
        assert (await api.card(111)).photo_count == 2  # type: ignore[union-attr]
        await api.save_media(111, [card.photos[0], "https://example.com/x.jpg"])
        assert (await api.card(111)).photo_count == 2  # type: ignore[union-attr]
