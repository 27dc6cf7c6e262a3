"""Which failures are our storage's (a full disk, a read-only or broken database): users are
told "temporarily unavailable" instead of a generic error, and never left in silence."""

from __future__ import annotations

import errno
import sqlite3

STORAGE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EIO}


def is_storage_failure(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        return True
    return isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS
