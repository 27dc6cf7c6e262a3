"""The short memory soak `make test` runs: 300 mixed jobs from 20 users against the real bot
process (tiny weights, the model worker a process); the RSS of the bot and of the worker
may grow at most 25 % from job 50 to job 300. `make soak` runs 2 000 jobs with a 10 % bound.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from soak import growth, soak, table  # noqa: E402

pytestmark = pytest.mark.slow


async def test_memory_is_flat_after_warm_up(tmp_path: Path, tiny_weights: Path) -> None:
    result = await soak(300, 50, tmp_path, weights=tiny_weights)
    samples = result.samples
    report = f"{table(samples)}\n{result.summary()}"
    assert [s.jobs for s in samples] == [0, 50, 100, 150, 200, 250, 300], report
    assert all(s.bot_kb and s.worker_kb for s in samples[1:]), report
    # every request was answered: a bad input by its refusal, a job by its delivery
    assert sum(result.outcomes.values()) == 300, report
    assert not [k for k in result.outcomes if "timed out" in k], report
    assert all(key.endswith(" done") for key in result.jobs), report
    assert sum(result.jobs.values()) == 300 * 17 // 20, report  # the mix: 17 of 20 are jobs
    for attribute in ("bot_kb", "worker_kb"):
        assert growth(samples, 50, attribute) < 0.25, report
