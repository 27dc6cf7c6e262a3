"""Can these batches be given one worker each, every worker serving its batch's operation?

The bot's scheduler asks this before it sends a batch to a fleet of unlike workers (one
serving every operation, another only `--ops background,tag`): counting workers per lane is
not enough, since a batch that only one worker can run would otherwise go out while that
worker is busy, be refused by the others and hold their lane's place while a job they could
run waits. A bipartite matching (Kuhn's augmenting paths), small: a fleet has a few workers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


def placeable(batches: Sequence[str], workers: Sequence[Collection[str]]) -> bool:
    """True when each batch (its operation's name) can have a worker of its own among
    `workers` (each the operations it serves)."""
    if len(batches) > len(workers):
        return False
    holder: dict[int, int] = {}  # worker index -> batch index

    def place(batch: int, tried: set[int]) -> bool:
        for worker, ops in enumerate(workers):
            if batches[batch] in ops and worker not in tried:
                tried.add(worker)
                if worker not in holder or place(holder[worker], tried):
                    holder[worker] = batch
                    return True
        return False

    return all(place(batch, set()) for batch in range(len(batches)))
