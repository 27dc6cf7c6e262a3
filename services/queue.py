"""A bounded queue that is fair between users.

Users take turns (round robin): one user's 50 jobs do not starve another user's 1. A user
who arrives joins the end of the rotation; a user who takes a turn moves to the end.
Pure data structure, no asyncio: the scheduler in `services.scheduler` owns the waiting.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

from services.errors import QueueFull

T = TypeVar("T")


class FairQueue(Generic[T]):
    def __init__(self, max_size: int, max_per_user: int) -> None:
        if max_size < 1 or max_per_user < 1:
            raise ValueError("queue limits must be positive")
        self.max_size = max_size
        self.max_per_user = max_per_user
        self._users: OrderedDict[Hashable, deque[T]] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def count(self, user: Hashable) -> int:
        return len(self._users.get(user, ()))

    def put(self, user: Hashable, item: T) -> None:
        """Append `item` for `user`; raise QueueFull (per_user says which limit) if refused."""
        if self.count(user) >= self.max_per_user:
            raise QueueFull(per_user=True)
        if self._size >= self.max_size:
            raise QueueFull(per_user=False)
        self._users.setdefault(user, deque()).append(item)
        self._size += 1

    def pop(self) -> T:
        """The next item in fair order; IndexError when empty."""
        if not self._users:
            raise IndexError("pop from an empty FairQueue")
        user, items = next(iter(self._users.items()))
        item = items.popleft()
        self._size -= 1
        if items:
            self._users.move_to_end(user)
        else:
            del self._users[user]
        return item

    def pop_first(self, predicate: Callable[[T], bool]) -> T | None:
        """The first item in fair order that satisfies `predicate` (None if none does); its
        user moves to the end of the rotation, as with `pop`."""
        for item in self:
            if predicate(item):
                break
        else:
            return None
        for user, items in self._users.items():
            if item in items:
                items.remove(item)
                self._size -= 1
                if items:
                    self._users.move_to_end(user)
                else:
                    del self._users[user]
                return item
        return None  # pragma: no cover - the item was found above

    def pop_matching(self, predicate: Callable[[T], bool], limit: int) -> list[T]:
        """Up to `limit` items that satisfy `predicate`, taken in fair order (for batching)."""
        taken = [item for item in self if predicate(item)][: max(limit, 0)]
        for item in taken:
            self.remove(item)
        return taken

    def remove(self, item: T) -> bool:
        for user, items in self._users.items():
            try:
                items.remove(item)
            except ValueError:
                continue
            self._size -= 1
            if not items:
                del self._users[user]
            return True
        return False

    def __iter__(self) -> Iterator[T]:
        """Items in the order they will be popped if nothing else arrives."""
        queues = [list(items) for items in self._users.values()]
        depth = max((len(q) for q in queues), default=0)
        for turn in range(depth):
            for items in queues:
                if turn < len(items):
                    yield items[turn]

    def positions(self) -> dict[int, int]:
        """id(item) -> 0-based place in the run order (0 = next)."""
        return {id(item): place for place, item in enumerate(self)}
