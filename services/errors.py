"""Errors the service layer raises; the bot maps each to a short message for the user."""

from __future__ import annotations

from pathlib import Path


class ServiceError(Exception):
    """Base class for errors a job can end with."""


class BackendUnreachable(ServiceError):
    """SERVICE_BACKEND's Redis did not answer at start (the message names it without its
    password): the bot or worker says so in one line instead of starting half-way."""


class ModelUnavailable(ServiceError):
    """A model's folder is missing or incomplete under WEIGHTS_DIR."""

    def __init__(self, model: str, folder: Path, reason: str = "missing") -> None:
        self.model = model
        self.folder = folder
        self.reason = reason
        super().__init__(
            f"model '{model}' is unavailable ({reason}): {folder}; "
            f"fill it with 'vitrina weights download' "
            f"(or 'vitrina weights tiny {folder.parent}' for random test weights)"
        )

    def __reduce__(self) -> tuple[object, ...]:  # crosses the worker process's pipe
        return (type(self), (self.model, self.folder, self.reason))


class BadImage(ServiceError):
    """The submitted file is not an image we can use. `reason` picks the user's message:
    unreadable, empty, too_small, too_many_pixels, format."""

    def __init__(self, message: str, reason: str = "unreadable", **fields: object) -> None:
        super().__init__(message)
        self.reason = reason
        self.fields = fields

    def __reduce__(self) -> tuple[object, ...]:
        return (_bad_image, (str(self), self.reason, self.fields))


class QueueFull(ServiceError):
    """The queue refused a job (globally full or the user has too many queued)."""

    def __init__(self, per_user: bool) -> None:
        self.per_user = per_user
        super().__init__("too many jobs for this user" if per_user else "the queue is full")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.per_user,))


class JobCancelled(ServiceError):
    """The job was cancelled before it finished."""


class UnknownOperation(ServiceError):
    """No service implements the requested operation (yet)."""


def _bad_image(message: str, reason: str, fields: dict[str, object]) -> BadImage:
    return BadImage(message, reason, **fields)


class GalleryRefused(ServiceError):
    """/gallery cannot draw what it was given; `reason` is a catalog-free code the bot turns
    into the user's text: "no_product" (the cut is empty), "banned" (`words`: the profile's
    banned words found in the user's text, as written), "too_long" (`line`: the text that does
    not fit, `limit`: its most characters), "no_text" (no title)."""

    def __init__(
        self, reason: str, words: tuple[str, ...] = (), line: str = "", limit: int = 0
    ) -> None:
        super().__init__(reason, tuple(words), line, limit)  # args: pickles as it was made
        self.reason = reason
        self.words = tuple(words)
        self.line = line
        self.limit = limit

    def __str__(self) -> str:
        return f"gallery refused: {self.reason}"
