"""Pieces of the bot's job runner that need no Telegram."""

from __future__ import annotations

import time

from bot.ratelimit import TokenBucket


def test_token_bucket_allows_a_burst_then_the_rate(monkeypatch) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    bucket = TokenBucket(rate=2.0, burst=3.0)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5  # one token back at 2 a second
    assert [bucket.take() for _ in range(2)] == [True, False]
    now[0] += 60  # never more than the burst
    assert sum(bucket.take() for _ in range(10)) == 3
