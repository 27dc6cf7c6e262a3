"""The SQLite schema, created and migrated in code.

`MIGRATIONS[i]` brings the database from version i to i + 1, and the `schema_version` table
remembers where a file stands.
"""

from __future__ import annotations

from pathlib import Path

import aiosqlite

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        language    TEXT NOT NULL DEFAULT 'ru',
        domain      TEXT NOT NULL DEFAULT 'product',
        username    TEXT,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE TABLE photos (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id         INTEGER NOT NULL REFERENCES users(id),
        chat_id         INTEGER NOT NULL,
        message_id      INTEGER NOT NULL,
        file_id         TEXT NOT NULL,
        file_unique_id  TEXT NOT NULL,
        sha256          TEXT NOT NULL,
        size            INTEGER NOT NULL,
        width           INTEGER NOT NULL,
        height          INTEGER NOT NULL,
        path            TEXT NOT NULL,
        media_group_id  TEXT,
        deleted         INTEGER NOT NULL DEFAULT 0,
        created_at      TEXT NOT NULL
    );
    CREATE INDEX photos_by_user ON photos(user_id, id);
    CREATE INDEX photos_by_message ON photos(chat_id, message_id);
    CREATE TABLE jobs (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id              INTEGER NOT NULL REFERENCES users(id),
        chat_id              INTEGER NOT NULL,
        photo_id             INTEGER NOT NULL REFERENCES photos(id),
        op                   TEXT NOT NULL,
        params               TEXT NOT NULL DEFAULT '{}',
        status               TEXT NOT NULL,
        progress_message_id  INTEGER,
        error                TEXT,
        created_at           TEXT NOT NULL,
        started_at           TEXT,
        finished_at          TEXT
    );
    CREATE INDEX jobs_by_status ON jobs(status, id);
    CREATE TABLE results (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id      INTEGER NOT NULL UNIQUE REFERENCES jobs(id),
        kind        TEXT NOT NULL,
        payload     TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    """,
    # 2: a finished result is delivered once: `delivered` is set when the user has it, so a
    # restart sends what a crash left stored but unsent (old rows count as delivered).
    """
    ALTER TABLE jobs ADD COLUMN delivered INTEGER NOT NULL DEFAULT 1;
    """,
    # 3: the result cache: a job's key (photo sha256 + op + params + model revisions, see
    # ModelServices.cache_key); a done job with the same key answers a repeat.
    """
    ALTER TABLE jobs ADD COLUMN cache_key TEXT;
    CREATE INDEX jobs_by_cache_key ON jobs(cache_key, id) WHERE cache_key IS NOT NULL;
    """,
    # 4: the library (issue 19). Per-user settings (/settings; a language the user chose is
    # kept over Telegram's); a photo's caption and how it came (photo or document); the
    # search index: `search_texts` holds each text (a caption, a result's words) with its
    # stems, and `search_index` is an FTS5 index over it (external content, kept by the
    # triggers). Rows go with their photo or job (ON DELETE CASCADE: /delete, /forget_me,
    # retention). `search_meta.version` is the text normalisation the stems were made with
    # (services/search/text.py VERSION): the bot builds the index at start when it differs.
    """
    ALTER TABLE users ADD COLUMN language_chosen INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN background TEXT;
    ALTER TABLE users ADD COLUMN tags_mode TEXT;
    ALTER TABLE users ADD COLUMN edit_strength TEXT;
    ALTER TABLE photos ADD COLUMN caption TEXT;
    ALTER TABLE photos ADD COLUMN media TEXT;
    CREATE INDEX jobs_by_photo ON jobs(photo_id, id);
    CREATE TABLE search_texts (
        id        INTEGER PRIMARY KEY,
        user_id   INTEGER NOT NULL,
        photo_id  INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        job_id    INTEGER REFERENCES jobs(id) ON DELETE CASCADE,
        source    TEXT NOT NULL,
        raw       TEXT NOT NULL,
        owner     TEXT NOT NULL,
        stems     TEXT NOT NULL
    );
    CREATE INDEX search_texts_by_photo ON search_texts(photo_id);
    CREATE INDEX search_texts_by_job ON search_texts(job_id);
    CREATE INDEX search_texts_by_user ON search_texts(user_id);
    CREATE VIRTUAL TABLE search_index USING fts5(
        owner, stems, content='search_texts', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0'
    );
    CREATE TRIGGER search_texts_added AFTER INSERT ON search_texts BEGIN
        INSERT INTO search_index(rowid, owner, stems) VALUES (new.id, new.owner, new.stems);
    END;
    CREATE TRIGGER search_texts_removed AFTER DELETE ON search_texts BEGIN
        INSERT INTO search_index(search_index, rowid, owner, stems)
            VALUES ('delete', old.id, old.owner, old.stems);
    END;
    CREATE TRIGGER search_texts_changed AFTER UPDATE ON search_texts BEGIN
        INSERT INTO search_index(search_index, rowid, owner, stems)
            VALUES ('delete', old.id, old.owner, old.stems);
        INSERT INTO search_index(rowid, owner, stems) VALUES (new.id, new.owner, new.stems);
    END;
    CREATE TABLE search_meta (version INTEGER NOT NULL);
    INSERT INTO search_meta VALUES (0);
    """,
    # 5: the user's marketplace profile for /check and "Fix for": set by `/check wb` and by
    # every check (NULL: the profiles file's default)
    """
    ALTER TABLE users ADD COLUMN profile TEXT;
    """,
    # 6: sets (catalogues): photos sent together, and one action run over all of them. A
    # set's jobs carry `set_run_id`: the set runner resumes them, not the one-job runner.
    """
    ALTER TABLE jobs ADD COLUMN set_run_id INTEGER;
    CREATE TABLE sets (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id     INTEGER NOT NULL REFERENCES users(id),
        chat_id     INTEGER NOT NULL,
        message_id  INTEGER,
        closed      INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL
    );
    CREATE INDEX sets_by_user ON sets(user_id, chat_id, id);
    CREATE TABLE set_photos (
        set_id     INTEGER NOT NULL REFERENCES sets(id),
        photo_id   INTEGER NOT NULL REFERENCES photos(id),
        file_name  TEXT,
        PRIMARY KEY (set_id, photo_id)
    );
    CREATE TABLE set_runs (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        set_id               INTEGER NOT NULL REFERENCES sets(id),
        user_id              INTEGER NOT NULL,
        chat_id              INTEGER NOT NULL,
        op                   TEXT NOT NULL,
        params               TEXT NOT NULL DEFAULT '{}',
        shared               TEXT,
        status               TEXT NOT NULL,
        progress_message_id  INTEGER,
        summary_sent         INTEGER NOT NULL DEFAULT 0,
        zip_sent             INTEGER NOT NULL DEFAULT 0,
        created_at           TEXT NOT NULL,
        finished_at          TEXT
    );
    CREATE INDEX set_runs_by_status ON set_runs(status, id);
    CREATE TABLE set_items (
        run_id          INTEGER NOT NULL REFERENCES set_runs(id),
        position        INTEGER NOT NULL,
        photo_id        INTEGER NOT NULL REFERENCES photos(id),
        name            TEXT NOT NULL,
        measure_job_id  INTEGER,
        job_id          INTEGER,
        sent            INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, position)
    );
    CREATE INDEX set_items_by_photo ON set_items(photo_id);
    """,
    # 7: no update lost, none handled twice (issue 20). `inbox`: every update as it came,
    # stored before its getUpdates offset (or the webhook's 200) confirms it; replayed at
    # start until `state` is done. `fsm`: aiogram's dialogue states (the Edit prompt...)
    # across restarts. A replayed update makes nothing twice: one photo row per message
    # (older duplicates, which only a race could make, are hidden first), and a job, a
    # set run or an album's set made while handling an update carries `origin` (the update
    # id and what it was made for), unique.
    """
    CREATE TABLE inbox (
        update_id    INTEGER PRIMARY KEY,
        payload      TEXT NOT NULL,
        user_id      INTEGER,
        received_at  TEXT NOT NULL,
        state        TEXT NOT NULL DEFAULT 'new',
        attempts     INTEGER NOT NULL DEFAULT 0,
        done_at      TEXT
    );
    CREATE INDEX inbox_by_state ON inbox(state, update_id);
    CREATE TABLE fsm (
        bot_id       INTEGER NOT NULL,
        chat_id      INTEGER NOT NULL,
        user_id      INTEGER NOT NULL,
        thread_id    INTEGER NOT NULL DEFAULT 0,
        business_id  TEXT NOT NULL DEFAULT '',
        destiny      TEXT NOT NULL DEFAULT 'default',
        state        TEXT,
        data         TEXT NOT NULL DEFAULT '{}',
        expires_at   REAL NOT NULL,
        PRIMARY KEY (bot_id, chat_id, user_id, thread_id, business_id, destiny)
    );
    CREATE INDEX fsm_by_user ON fsm(user_id);
    UPDATE photos SET deleted = 1 WHERE deleted = 0 AND id NOT IN
        (SELECT MAX(id) FROM photos WHERE deleted = 0 GROUP BY chat_id, message_id);
    CREATE UNIQUE INDEX photos_one_per_message ON photos(chat_id, message_id)
        WHERE deleted = 0;
    ALTER TABLE jobs ADD COLUMN origin TEXT;
    CREATE UNIQUE INDEX jobs_by_origin ON jobs(origin) WHERE origin IS NOT NULL;
    ALTER TABLE set_runs ADD COLUMN origin TEXT;
    CREATE UNIQUE INDEX set_runs_by_origin ON set_runs(origin) WHERE origin IS NOT NULL;
    ALTER TABLE sets ADD COLUMN origin TEXT;
    CREATE UNIQUE INDEX sets_by_origin ON sets(origin) WHERE origin IS NOT NULL;
    """,
    # 8: erased means erased (issue 32). An erasure (/forget_me, /delete, retention) deletes
    # the rows and stores one `erasures` row in the same transaction; what is left (the
    # files, merging the search index's tombstones away, emptying the WAL) is finished in
    # the background, or at the next start after a crash (erasure.py). A handled update
    # keeps no words in the inbox; the tombstones of earlier deletes go now. Photos by
    # sha256: whether a file is still used, asked per file of an erasure.
    """
    CREATE TABLE erasures (
        id          INTEGER PRIMARY KEY,
        what        TEXT NOT NULL,
        files       TEXT NOT NULL DEFAULT '[]',
        created_at  TEXT NOT NULL
    );
    CREATE INDEX photos_by_sha256 ON photos(sha256);
    UPDATE inbox SET payload = json_object('update_id', update_id) WHERE state != 'new';
    INSERT INTO search_index(search_index) VALUES ('optimize');
    """,
    # 9: the user's brand colour for /gallery's slides (issue 28; NULL: from the product).
    """
    ALTER TABLE users ADD COLUMN brand TEXT;
    """,
    # 10: publishing to a marketplace (issue 30). A seller's token, encrypted (Fernet with
    # SECRET_KEY: never in clear; `last4` is what /settings shows). An upload is a stored
    # run: `publish_cards` the cards it goes to (`base`: the card's photo count when its
    # upload began, kept so that a resumed run numbers the same), `publish_items` each
    # photo's step (`state`: pending, sending, done, failed, skipped); a card read back
    # decides a step left 'sending' by a crash.
    """
    CREATE TABLE marketplace_tokens (
        user_id      INTEGER NOT NULL,
        marketplace  TEXT NOT NULL,
        ciphertext   BLOB NOT NULL,
        last4        TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        PRIMARY KEY (user_id, marketplace)
    );
    CREATE TABLE publish_runs (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id              INTEGER NOT NULL,
        chat_id              INTEGER NOT NULL,
        marketplace          TEXT NOT NULL,
        mode                 TEXT,
        status               TEXT NOT NULL,
        progress_message_id  INTEGER,
        summary_sent         INTEGER NOT NULL DEFAULT 0,
        error                TEXT,
        origin               TEXT,
        created_at           TEXT NOT NULL,
        finished_at          TEXT
    );
    CREATE INDEX publish_runs_by_status ON publish_runs(status, id);
    CREATE UNIQUE INDEX publish_runs_by_origin ON publish_runs(origin) WHERE origin IS NOT NULL;
    CREATE TABLE publish_cards (
        run_id        INTEGER NOT NULL REFERENCES publish_runs(id),
        nm_id         INTEGER NOT NULL,
        article       TEXT NOT NULL,
        title         TEXT NOT NULL,
        count_before  INTEGER NOT NULL,
        base          INTEGER,
        count_after   INTEGER,
        status        TEXT NOT NULL DEFAULT 'pending',
        error         TEXT,
        PRIMARY KEY (run_id, nm_id)
    );
    CREATE TABLE publish_items (
        run_id      INTEGER NOT NULL REFERENCES publish_runs(id),
        position    INTEGER NOT NULL,
        photo_id    INTEGER NOT NULL,
        source      TEXT NOT NULL,
        name        TEXT NOT NULL,
        nm_id       INTEGER NOT NULL,
        card_index  INTEGER NOT NULL,
        state       TEXT NOT NULL DEFAULT 'pending',
        error       TEXT,
        PRIMARY KEY (run_id, position)
    );
    """,
)


async def schema_version(db: aiosqlite.Connection) -> int:
    async with db.execute("SELECT version FROM schema_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(db: aiosqlite.Connection, database_path: Path) -> None:
    """Bring the database to the newest version, each migration in its own transaction."""
    await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
    version = await schema_version(db)
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"{database_path} has schema version {version}, newer than this code "
            f"({len(MIGRATIONS)}): upgrade Vitrina"
        )
    for target in range(version, len(MIGRATIONS)):
        await db.executescript(
            "BEGIN;\n"
            + MIGRATIONS[target]
            + "\nDELETE FROM schema_version;"
            + f"\nINSERT INTO schema_version VALUES ({target + 1});"
            + "\nCOMMIT;"
        )
