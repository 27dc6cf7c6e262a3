"""SQLite storage (aiosqlite, WAL): the only package that writes SQL.

Photos users send are kept on disk next to the database, named by their sha256, so a job
can be run again after a restart and nothing a user sent is lost. `Storage` is one
connection (`connection.py`) with the queries of each table group mixed in.
"""

from __future__ import annotations

from bot.storage.erasure import Erasure
from bot.storage.fsm import FsmQueries
from bot.storage.inbox_queries import InboxQueries, InboxRow
from bot.storage.job_queries import JobQueries
from bot.storage.photo_queries import PhotoQueries
from bot.storage.publish_queries import PublishQueries
from bot.storage.result_queries import ResultQueries
from bot.storage.rows import FINISHED, Job, JobStatus, Photo, Result, User
from bot.storage.schema import MIGRATIONS
from bot.storage.search_queries import HistoryItem, PhotoText, SearchQueries, WordHit
from bot.storage.set_queries import SetQueries
from bot.storage.set_rows import PhotoSet, RunStatus, SetItem, SetRun
from bot.storage.user_queries import UserQueries


class Storage(
    SearchQueries,
    UserQueries,
    PhotoQueries,
    JobQueries,
    ResultQueries,
    SetQueries,
    InboxQueries,
    FsmQueries,
    PublishQueries,
    Erasure,
):
    """The bot's database and files: ``async with Storage(db_path, photos_dir) as db``."""


__all__ = [
    "FINISHED",
    "MIGRATIONS",
    "HistoryItem",
    "InboxRow",
    "Job",
    "JobStatus",
    "Photo",
    "PhotoSet",
    "PhotoText",
    "Result",
    "RunStatus",
    "SetItem",
    "SetRun",
    "Storage",
    "User",
    "WordHit",
]
