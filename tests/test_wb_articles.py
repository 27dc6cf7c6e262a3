"""The article a photo is for (services/publishing/articles.toml), WB's photo rules and the
upload planner (numbers, resumable steps)."""

from __future__ import annotations

import pytest

from services.publishing import articles, limits, planner
from services.publishing.tokens import TokenBox, TokenUnreadable, last4


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("12345-1.jpg", ["12345", "12345-1"]),
        ("ABC_main.png", ["ABC", "ABC_main"]),
        ("12345.jpg", ["12345"]),
        ("ABC-123-red-2.jpg", ["ABC-123-red", "ABC-123-red-2"]),
        ("art77 front.webp", ["art77", "art77 front"]),
        ("1001_02.JPG", ["1001", "1001_02"]),
        ("платье-5_главное.jpg", ["платье-5", "платье-5_главное"]),
        ("IMG_4032.jpg", []),
        ("photo_2025-01-01_12-00-00.jpg", []),
        ("", []),
        (None, []),
    ],
)
def test_article_from_file_name(name: str | None, expected: list[str]) -> None:
    assert articles.from_filename(name) == expected


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("арт. 12345", "12345"),
        ("Артикул: ABC-1", "ABC-1"),
        ("новое фото, арт 777", "777"),
        ("art. X5", "X5"),
        ("артикул №42", "42"),
        ("просто фото", None),
        ("партия 5", None),  # "арт" inside a word is no article
        (None, None),
    ],
)
def test_article_from_caption(caption: str | None, expected: str | None) -> None:
    assert articles.from_caption(caption) == expected


def test_caption_goes_before_the_file_name() -> None:
    assert articles.candidates("12345-1.jpg", "арт. 999") == ["999", "12345", "12345-1"]


def test_wb_photo_rules() -> None:
    assert limits.check_photo(900, 1200, 10_000, "JPEG") is None
    assert limits.check_photo(699, 1200, 10_000, "JPEG").reason == "too_small"
    assert limits.check_photo(900, 899, 10_000, "PNG").reason == "too_small"
    assert limits.check_photo(900, 1200, 33 * 2**20, "JPEG").reason == "too_big"
    assert limits.check_photo(900, 1200, 10, "TIFF").reason == "format"
    assert limits.check_photo(900, 1200, 10, "GIF", animated=True).reason == "animated"
    assert limits.room("add", 28) == 2
    assert limits.room("replace_all", 28) == 30
    assert limits.room("replace_main", 30) == 1


def test_add_numbers_follow_the_existing_photos_and_resume_by_count() -> None:
    numbers = [planner.photo_number("add", i, base=3) for i in range(3)]
    assert numbers == [4, 5, 6]
    # a crash after the 2nd was sent: the card shows 5 photos; steps 0 and 1 are done
    assert [planner.already_on_card("add", i, 3, count_now=5) for i in range(3)] == [
        True,
        True,
        False,
    ]
    assert planner.expected_count("add", 3, 3) == 6


def test_replace_main_and_replace_all_numbers() -> None:
    assert [planner.photo_number("replace_main", i, base=4) for i in range(3)] == [1, 5, 6]
    assert [planner.photo_number("replace_main", i, base=0) for i in range(2)] == [1, 2]
    assert planner.expected_count("replace_main", 3, 4) == 6
    assert [planner.photo_number("replace_all", i, base=5) for i in range(3)] == [1, 2, 3]
    assert not planner.already_on_card("replace_all", 0, 5, count_now=5)  # replaced again
    assert planner.already_on_card("replace_all", 2, 2, count_now=3)  # it added the 3rd
    assert planner.expected_count("replace_all", 3, 5) == 3


def test_token_box_round_trip_and_any_secret() -> None:
    box = TokenBox("not a fernet key, just a long secret")
    sealed = box.seal("eyJhbGciOi-secret-token-abcd")
    assert b"secret-token" not in sealed
    assert box.open(sealed) == "eyJhbGciOi-secret-token-abcd"
    assert "secret" not in repr(box)
    with pytest.raises(TokenUnreadable):
        TokenBox("another secret").open(sealed)
    assert last4("eyJhbGciOi-secret-token-abcd") == "abcd"
    assert TokenBox.from_secret("") is None


def test_a_fernet_key_is_used_as_it_is() -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    sealed = TokenBox(key).seal("t0ken")
    assert Fernet(key.encode()).decrypt(sealed) == b"t0ken"
