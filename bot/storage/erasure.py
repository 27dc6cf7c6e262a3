"""Erasing photos with everything made of them (retention and /forget_me): rows of every
table (sets too) in one transaction, and the list of files nothing refers to any more."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.connection import Connection


class Erasure(Connection):
    async def photo_ids_older_than(self, before: datetime) -> list[int]:
        cutoff = before.astimezone(UTC).isoformat(timespec="milliseconds")
        async with self.db.execute(
            "SELECT id FROM photos WHERE created_at < ? ORDER BY id", (cutoff,)
        ) as cursor:
            return [row[0] for row in await cursor.fetchall()]

    async def photo_ids_of_user(self, user_id: int) -> list[int]:
        async with self.db.execute(
            "SELECT id FROM photos WHERE user_id = ? ORDER BY id", (user_id,)
        ) as cursor:
            return [row[0] for row in await cursor.fetchall()]

    async def erase_photos(self, photo_ids: list[int]) -> list[Path]:
        """Delete photos with their jobs and results, in one transaction. Returns the files
        nothing refers to any more (photo files shared by another photo row are kept; result
        files are `results_dir/<job id>.*`; with a photo file goes its features folder,
        `features_dir/<sha256>`); the caller deletes them after the commit."""
        if not photo_ids:
            return []
        marks = ",".join("?" * len(photo_ids))
        async with self._lock:
            async with self.db.execute(
                f"SELECT id FROM jobs WHERE photo_id IN ({marks})", photo_ids
            ) as cursor:
                job_ids = [row[0] for row in await cursor.fetchall()]
            async with self.db.execute(
                f"SELECT DISTINCT path FROM photos WHERE id IN ({marks})", photo_ids
            ) as cursor:
                paths = [row[0] for row in await cursor.fetchall()]
            await self._erase_set_rows(marks, photo_ids)
            job_marks = ",".join("?" * len(job_ids))
            if job_ids:
                await self.db.execute(
                    f"DELETE FROM results WHERE job_id IN ({job_marks})", job_ids
                )
                await self.db.execute(f"DELETE FROM jobs WHERE id IN ({job_marks})", job_ids)
            await self.db.execute(f"DELETE FROM photos WHERE id IN ({marks})", photo_ids)
            orphans = []
            for path in paths:
                async with self.db.execute(
                    "SELECT 1 FROM photos WHERE path = ? LIMIT 1", (path,)
                ) as cursor:
                    if await cursor.fetchone() is None:
                        orphans.append(Path(path))
                        digest = Path(path).stem
                        if re.fullmatch(r"[0-9a-f]{64}", digest):
                            orphans.append(self.features_dir / digest)
            await self.db.commit()
        for job_id in job_ids:
            orphans.extend(self.results_dir.glob(f"{job_id}.*"))
        return orphans

    async def erase_user(self, user_id: int) -> list[Path]:
        """Everything of one user: photos, jobs, results, sets, dialogues, handled updates and
        the user row (/forget_me)."""
        orphans = await self.erase_photos(await self.photo_ids_of_user(user_id))
        async with self._lock:
            async with self.db.execute("SELECT id FROM jobs WHERE user_id = ?", (user_id,)) as c:
                job_ids = [row[0] for row in await c.fetchall()]
            for job_id in job_ids:
                await self.db.execute("DELETE FROM results WHERE job_id = ?", (job_id,))
            await self.db.execute("DELETE FROM jobs WHERE user_id = ?", (user_id,))
            await self.db.execute(
                "DELETE FROM set_items WHERE run_id IN "
                "(SELECT id FROM set_runs WHERE user_id = ?)",
                (user_id,),
            )
            await self.db.execute("DELETE FROM set_runs WHERE user_id = ?", (user_id,))
            await self.db.execute(
                "DELETE FROM set_photos WHERE set_id IN (SELECT id FROM sets WHERE user_id = ?)",
                (user_id,),
            )
            await self.db.execute("DELETE FROM sets WHERE user_id = ?", (user_id,))
            # their dialogues, and the updates they sent that are handled (their words)
            await self.db.execute("DELETE FROM fsm WHERE user_id = ?", (user_id,))
            await self.db.execute(
                "DELETE FROM inbox WHERE user_id = ? AND state != 'new'", (user_id,)
            )
            await self.db.execute("DELETE FROM users WHERE id = ?", (user_id,))
            await self.db.commit()
        for job_id in job_ids:
            orphans.extend(self.results_dir.glob(f"{job_id}.*"))
        return orphans

    async def _erase_set_rows(self, marks: str, photo_ids: list[int]) -> None:
        """The photos' places in sets and runs; runs and sets left empty go too (inside the
        caller's transaction)."""
        await self.db.execute(f"DELETE FROM set_items WHERE photo_id IN ({marks})", photo_ids)
        await self.db.execute(f"DELETE FROM set_photos WHERE photo_id IN ({marks})", photo_ids)
        await self.db.execute(
            "DELETE FROM set_runs WHERE NOT EXISTS "
            "(SELECT 1 FROM set_items i WHERE i.run_id = set_runs.id)"
        )
        await self.db.execute(
            "DELETE FROM sets WHERE NOT EXISTS "
            "(SELECT 1 FROM set_photos p WHERE p.set_id = sets.id) AND NOT EXISTS "
            "(SELECT 1 FROM set_runs r WHERE r.set_id = sets.id)"
        )
