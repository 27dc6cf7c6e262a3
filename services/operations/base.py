"""The one contract every operation implements (LitServe-style): `Operation`.

An operation wraps its model classes and knows how to batch. Four methods are its own
(`batch_key`, `run`, `missing_weights`, `warm_up`); the rest have defaults an operation
overrides when it needs them (lanes, cache identity, per-job weights, an async finish, calls
from that finish back on the worker). `Op` is the only list of operation names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from services.errors import ServiceError
from services.jobs import JobRequest

if TYPE_CHECKING:
    from services.models.residency import ModelResidency
    from services.operations.context import FinishContext, RunContext


class Op(StrEnum):
    """Every operation the bot offers, by name (a command, a button, a CLI flag map to one)."""

    TAG = "tag"
    NIGHT = "night"
    TULIPS = "tulips"
    EDIT = "edit"
    BACKGROUND = "background"
    DESCRIBE = "describe"
    FIND = "find"  # /find: a query against the user's photos (no photo of its own)
    GROUP = "group"  # /groups, --group: the user's photos clustered (no photo of its own)
    CHECK = "check"
    CLEAN = "clean"
    FIX = "fix"
    GALLERY = "gallery"  # /gallery: a product card's slides (main photo + infographics)
    STRAIGHTEN = "straighten"  # a room photo's verticals made vertical, the horizon level
    ENHANCE = "enhance"  # a room photo brightened: levels, white balance, local contrast
    ROOM = "room"  # a room photo's type and cover score (a hotel set's gallery order)


#: the instruct-pix2pix edits: a preset (night, tulips) or the user's own instruction
EDIT_OPS: tuple[Op, ...] = (Op.NIGHT, Op.TULIPS, Op.EDIT)

#: operations on the user's whole library, not on one photo: no photo command runs them
LIBRARY_OPS: tuple[Op, ...] = (Op.FIND, Op.GROUP)

#: Quick jobs (tags, descriptions, cut-outs) never wait behind a diffusion: the worker runs
#: them between two denoising steps of a running diffusion batch.
LANE_QUICK = "quick"
LANE_DIFFUSION = "diffusion"
LANES = (LANE_QUICK, LANE_DIFFUSION)

Outcome = Any  # a result, or the exception that one request of the batch failed with


class InvalidOperation(TypeError):
    """An operation breaks the contract (a bug in the wiring): the scheduler will not start."""


class Operation(ABC):
    """Subclass it, set `name` (an `Op`) and `max_batch`, implement the four abstract methods.

    `finish` is optional: an operation that overrides it gets an async step on the event loop
    after `run`. Whether it did is `has_finish`, decided once per class when the class is
    defined (its `finish` is not the base one), so the scheduler asks a plain attribute
    instead of probing methods: no flag to forget, and a fake in a test behaves the same.
    """

    name: str
    #: most requests one `run` takes (>= 1); equal `batch_key`s may share a run
    max_batch: int = 1
    #: every lane `lane(request)` can answer (a Redis worker reads only those streams)
    lanes: tuple[str, ...] = (LANE_QUICK,)
    #: methods an async `finish` may run on the worker (`FinishContext.on_worker`): only
    #: these are callable by name there (arguments and result must be picklable)
    worker_calls: ClassVar[frozenset[str]] = frozenset({"missing_weights"})
    has_finish: ClassVar[bool] = False

    _worker_functions: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.has_finish = cls.finish is not Operation.finish
        cls._worker_functions = {}
        for name in sorted(cls.worker_calls):  # resolved once, here: no lookup by name later
            found = next((vars(k)[name] for k in cls.__mro__ if name in vars(k)), None)
            if not callable(found):
                raise InvalidOperation(f"{cls.__name__}: worker call {name!r} is no method")
            cls._worker_functions[name] = found

    # ---- its own

    @abstractmethod
    def batch_key(self, request: JobRequest) -> Hashable:
        """Requests with equal keys may run together in one batch."""

    @abstractmethod
    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        """Runs on the worker thread; one outcome per request, in order."""

    @abstractmethod
    def missing_weights(self) -> list[str]:
        """Model folders this operation needs that are absent (empty = ready)."""

    @abstractmethod
    def warm_up(self) -> None:
        """Load the model(s) now, on the worker thread, so the first user does not wait."""

    # ---- defaults

    def lane(self, request: JobRequest) -> str:
        """ "diffusion" for a job that runs a denoising loop (quick jobs overtake it between
        its steps); "quick" for everything else. Must be one of `lanes`."""
        return LANE_QUICK

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Everything a job's result depends on besides the photo, or None: not cacheable.

        The normalised params and the settings that change the output (edit steps, tag
        top_k, the vocabulary's content, ...), JSON-able, with the model folders the result
        comes from under ``"models"`` (their installed revisions join the key). The scheduler
        turns it into a key (`services.cache_keys`); a repeat with the same key is answered
        from storage without any model call. Must be cheap: no model is loaded.
        """
        return None

    def missing_weights_for(self, params: Mapping[str, Any]) -> list[str]:
        """What this job needs beyond `missing_weights()` (a generated background needs the
        inpainting model; a colour does not). Default: nothing."""
        return []

    async def finish(
        self, request: JobRequest, outcome: Outcome, context: FinishContext
    ) -> Outcome:
        """An async step the scheduler awaits on the event loop after `run`, one task per
        successful request, while the worker goes on with the next batch (a network call,
        e.g. GPT, must not hold the GPU thread). Its return value (or exception) is the
        job's outcome. Default: none (see `has_finish`)."""
        return outcome

    def call_on_worker(self, method: str, args: Sequence[Any]) -> Any:
        """Run one of `worker_calls` with `args` (on the worker: `FinishContext.on_worker`)."""
        function = self._worker_functions.get(method)
        if function is None:
            raise AttributeError(f"operation {self.name!r} has no worker call {method!r}")
        return function(self, *args)


@dataclass(frozen=True)
class OperationSet(Mapping[str, Operation]):
    """The operations of one worker, by name, with the memory residency of their models
    (`services.models.residency`), so the worker can report what it holds. Reads as a
    mapping of name -> operation."""

    by_name: Mapping[str, Operation] = field(default_factory=dict)
    residency: ModelResidency | None = None

    def __getitem__(self, name: str) -> Operation:
        return self.by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_name)

    def __len__(self) -> int:
        return len(self.by_name)


def validate(operations: Mapping[str, Operation]) -> None:
    """Refuse an operation that breaks the contract, with what is wrong (InvalidOperation)."""
    for key, operation in operations.items():
        if not isinstance(operation, Operation):
            raise InvalidOperation(f"{key}: {type(operation).__name__} is not an Operation")
        if key not in Op.__members__.values() or operation.name != key:
            raise InvalidOperation(
                f"{key}: the operation is named {operation.name!r}; each must be an Op "
                f"({', '.join(Op)}) registered under its own name"
            )
        max_batch = operation.max_batch
        if not isinstance(max_batch, int) or isinstance(max_batch, bool) or max_batch < 1:
            raise InvalidOperation(f"{key}: max_batch must be an int >= 1, not {max_batch!r}")
        lanes = tuple(operation.lanes)
        if not lanes or any(lane not in LANES for lane in lanes):
            raise InvalidOperation(f"{key}: lanes {lanes!r} must be some of {LANES}")


def each_photo(
    requests: Sequence[JobRequest], work: Callable[..., Any], context: RunContext
) -> list[Outcome]:
    """`run` of an operation that works one photo at a time: `work(path, params, context,
    photo=sha256)` per request, in order; a ServiceError is that request's outcome."""
    outcomes: list[Outcome] = []
    for request in requests:
        try:
            outcomes.append(
                work(request.image_path, request.params, context, photo=request.photo_sha256)
            )
        except ServiceError as exc:
            outcomes.append(exc)
    return outcomes


def check_lane(operation: Operation, request: JobRequest) -> str:
    """The request's lane, which must be one the operation declares in `lanes`."""
    lane = operation.lane(request)
    if lane not in operation.lanes:
        raise InvalidOperation(
            f"{operation.name}: lane({dict(request.params)!r}) is {lane!r}, "
            f"not one of its lanes {tuple(operation.lanes)}"
        )
    return lane
