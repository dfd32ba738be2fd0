"""Jobs for long uploads, kept in SQLite so queued and finished jobs survive a restart. A job
either recognises the clip as one sign (``recognize``) or transcribes it into timed glosses
(``transcribe``, with its transcription options).

A job that was running when its server stopped is queued again (and says so in its ``note``);
nothing is lost silently. Several server processes may share one database (on one machine: SQLite in
WAL mode): each claims a job atomically, marks it with its own id, and refreshes it while it runs
(``JobWorker``'s heartbeat); a running job whose heartbeat is older than the lease is one whose
server died, and whichever server sees it first queues it again. A job belongs to the API key that made it (``owner``, a
digest of the key): other keys see no such job. The worker outlives any failure: a job that fails
inside the server is marked failed with the reason, and a storage error (a full disk) makes the worker
wait, queue its job again and carry on once the database takes writes again.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from signscribe.serving.model_pool import ModelPool
from signscribe.serving.security import ApiError
from signscribe.serving.work import JOB_KINDS, UnprocessableUpload, WorkGuard, WorkStopped, run_job_kind

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,            -- queued, running, done, failed
    progress REAL NOT NULL DEFAULT 0,
    filename TEXT NOT NULL,
    upload TEXT NOT NULL,
    top_k INTEGER NOT NULL,
    result TEXT,
    error TEXT,
    note TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    kind TEXT NOT NULL DEFAULT 'recognize',
    options TEXT,
    owner TEXT NOT NULL DEFAULT '',  -- digest of the API key that made the job; '' without keys
    video TEXT NOT NULL DEFAULT '',  -- content hash of the upload: its landmarks in the pose cache
    claimed_by TEXT NOT NULL DEFAULT '',  -- the server process running it
    runs INTEGER NOT NULL DEFAULT 0  -- how often a server claimed it
);
CREATE TABLE IF NOT EXISTS servers (
    instance TEXT PRIMARY KEY,  -- one server process
    beat REAL NOT NULL  -- its last heartbeat
)
"""
# Columns added after the first release, for databases created before them.
ADDED_COLUMNS = {
    "kind": "TEXT NOT NULL DEFAULT 'recognize'",
    "options": "TEXT",
    "owner": "TEXT NOT NULL DEFAULT ''",
    "video": "TEXT NOT NULL DEFAULT ''",
    "claimed_by": "TEXT NOT NULL DEFAULT ''",
    "runs": "INTEGER NOT NULL DEFAULT 0",
}
PRIVATE = ("upload", "owner", "video", "claimed_by", "runs")
RESTARTED = "interrupted by a server restart and queued again"
log = logging.getLogger("signscribe.serving")


@dataclass
class Job:
    id: str
    status: str
    progress: float
    filename: str
    upload: str
    top_k: int
    result: dict[str, Any] | None
    error: str | None
    note: str | None
    created: float
    updated: float
    kind: str = "recognize"
    options: dict[str, Any] | None = None
    owner: str = ""
    video: str = ""
    claimed_by: str = ""
    runs: int = 0

    def public(self) -> dict[str, Any]:
        """What ``GET /v1/jobs/{id}`` answers (the upload's path on disk, the owner and the video's
        hash stay private)."""
        body = asdict(self)
        for name in PRIVATE:
            del body[name]
        return body


class JobStore:
    """The jobs table; safe to use from the request handlers and the worker thread, and from several
    server processes (each store is one ``instance``)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.instance = uuid.uuid4().hex
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.executescript(SCHEMA)
        present = {row[1] for row in self._connection.execute("PRAGMA table_info(jobs)")}
        for name, definition in ADDED_COLUMNS.items():
            if name not in present:
                self._connection.execute(f"ALTER TABLE jobs ADD COLUMN {name} {definition}")
        self._lock = threading.Lock()

    def _execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._connection.execute(sql, parameters).fetchall()

    def create(
        self,
        filename: str,
        upload: Path,
        top_k: int,
        kind: str = "recognize",
        options: dict[str, Any] | None = None,
        owner: str = "",
        video: str = "",
    ) -> Job:
        if kind not in JOB_KINDS:
            raise ValueError(f"job kind must be one of {JOB_KINDS}, got {kind!r}")
        now = time.time()
        job_id = uuid.uuid4().hex
        self._execute(
            "INSERT INTO jobs (id, status, filename, upload, top_k, created, updated, kind, options, owner, video) "
            "VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, filename, str(upload), top_k, now, now, kind, json.dumps(options) if options else None,
             owner, video),
        )  # fmt: skip
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        """The job, or ``None`` when there is none (or, with ``owner``, none of that owner's)."""
        names = [item.name for item in fields(Job)]
        where, parameters = ("id = ?", (job_id,)) if owner is None else ("id = ? AND owner = ?", (job_id, owner))
        rows = self._execute(f"SELECT {', '.join(names)} FROM jobs WHERE {where}", parameters)
        if not rows:
            return None
        values = dict(zip(names, rows[0], strict=True))
        for name in ("result", "options"):
            values[name] = json.loads(values[name]) if values[name] else None
        return Job(**values)

    def update(self, job_id: str, **fields: Any) -> None:
        if "result" in fields and fields["result"] is not None:
            fields["result"] = json.dumps(fields["result"])
        names = ", ".join(f"{name} = ?" for name in fields)
        self._execute(f"UPDATE jobs SET {names}, updated = ? WHERE id = ?", (*fields.values(), time.time(), job_id))

    def delete(self, job_id: str, owner: str | None = None) -> Job | None:
        job = self.get(job_id, owner)
        if job is not None:
            self._execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            Path(job.upload).unlink(missing_ok=True)
        return job

    def claim_next(self) -> Job | None:
        """Mark the next queued job running and return it: the oldest of the owner served least
        recently (an owner none of whose jobs ran yet first), so that one key's queue of jobs takes
        turns with another key's instead of running all before it."""
        with self._lock:
            row = self._connection.execute(
                "UPDATE jobs SET status = 'running', progress = 0, updated = ?, claimed_by = ?, runs = runs + 1 "
                "WHERE id = "
                "(SELECT id FROM jobs AS waiting WHERE status = 'queued' ORDER BY "
                "(SELECT MAX(updated) FROM jobs AS served WHERE served.owner = waiting.owner "
                "AND served.status != 'queued') NULLS FIRST, created LIMIT 1) RETURNING id",
                (time.time(), self.instance),
            ).fetchone()
        return self.get(row[0]) if row else None

    def recover(self, note: str) -> int:
        """Queue again this store's running jobs (a storage error interrupted them); returns how many."""
        rows = self._execute(
            "UPDATE jobs SET status = 'queued', progress = 0, note = ?, updated = ? WHERE status = 'running' "
            "AND claimed_by = ? RETURNING id",
            (note, time.time(), self.instance),
        )
        return len(rows)

    def recover_stale(self, lease_seconds: float, note: str = RESTARTED) -> int:
        """Queue again the running jobs whose heartbeat is older than ``lease_seconds``: their server
        died (or stopped); returns how many."""
        now = time.time()
        rows = self._execute(
            "UPDATE jobs SET status = 'queued', progress = 0, note = ?, updated = ? WHERE status = 'running' "
            "AND updated < ? RETURNING id",
            (note, now, now - lease_seconds),
        )
        return len(rows)

    def beat(self, job_id: str | None) -> None:
        """This server's heartbeat, and its running job's (``job_id``): both are alive."""
        now = time.time()
        self._execute("INSERT INTO servers (instance, beat) VALUES (?, ?) ON CONFLICT(instance) DO UPDATE "
                      "SET beat = excluded.beat", (self.instance, now))  # fmt: skip
        if job_id is not None:
            self._execute("UPDATE jobs SET updated = ? WHERE id = ? AND status = 'running' AND claimed_by = ?",
                          (now, job_id, self.instance))  # fmt: skip

    def others_alive(self, lease_seconds: float) -> bool:
        """Whether another server process beat within the lease (it may be answering requests)."""
        rows = self._execute("SELECT 1 FROM servers WHERE instance != ? AND beat >= ? LIMIT 1",
                             (self.instance, time.time() - lease_seconds))  # fmt: skip
        return bool(rows)

    def leave(self) -> None:
        """This server stops: others need not wait for its heartbeat to lapse."""
        self._execute("DELETE FROM servers WHERE instance = ?", (self.instance,))

    def pending_uploads(self, owner: str) -> list[Path]:
        """The uploads of ``owner``'s jobs that are queued or running."""
        rows = self._execute("SELECT upload FROM jobs WHERE owner = ? AND status IN ('queued', 'running')", (owner,))
        return [Path(row[0]) for row in rows]

    def remove_stray_uploads(self, folder: Path) -> int:
        """Delete the uploads in ``folder`` that no job holds (a synchronous request's, left by a server
        that was killed while it answered); returns how many."""
        held = {Path(row[0]).name for row in self._execute("SELECT upload FROM jobs")}
        stray = [path for path in folder.glob("*.upload") if path.name not in held] if folder.is_dir() else []
        for path in stray:
            path.unlink(missing_ok=True)
        return len(stray)

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class JobWorker(threading.Thread):
    """Runs queued jobs one at a time in the background, and keeps running whatever a job does.

    A job running longer than ``time_limit_seconds`` fails with that reason. ``stop`` stops the job
    that runs at its next frame and queues it again. ``storage_error`` is the database error the
    worker is waiting out (``None`` when healthy): it retries every ``retry_seconds``, and the job it
    was on is queued again, not lost. Every third of ``lease_seconds`` a heartbeat marks this server
    and its running job alive, and queues again the running jobs of servers whose heartbeat lapsed."""

    def __init__(
        self,
        store: JobStore,
        models: ModelPool,
        time_limit_seconds: float | None = None,
        poll_seconds: float = 0.2,
        retry_seconds: float = 2.0,
        lease_seconds: float = 30.0,
    ) -> None:
        super().__init__(name="signscribe-jobs", daemon=True)
        self.store, self.models, self.time_limit = store, models, time_limit_seconds
        self.poll_seconds, self.retry_seconds, self.lease_seconds = poll_seconds, retry_seconds, lease_seconds
        self.storage_error: str | None = None
        self._stop_event = threading.Event()
        self._running: str | None = None  # the id of the job being run
        self._heart = threading.Thread(target=self._beat, name="signscribe-jobs-heartbeat", daemon=True)

    @property
    def healthy(self) -> bool:
        return self.is_alive() and self.storage_error is None

    def stop(self) -> None:
        self._stop_event.set()

    def _beat(self) -> None:
        while not self._stop_event.wait(self.lease_seconds / 3):
            try:
                self.store.beat(self._running)
                self.store.recover_stale(self.lease_seconds)
            except sqlite3.Error:  # the worker itself reports storage errors
                continue

    def run(self) -> None:
        self._heart.start()
        while not self._stop_event.is_set():
            try:
                if self.storage_error is not None:  # the job the error interrupted runs again
                    self.store.recover("interrupted by a storage error and queued again")
                job = self.store.claim_next()
                self.storage_error = None
                if job is None:
                    self._stop_event.wait(self.poll_seconds)
                    continue
                self.process(job)
            except sqlite3.Error as error:
                if self.storage_error is None:
                    log.error("job worker: storage error, retrying every %g s: %s", self.retry_seconds, error)
                self.storage_error = str(error)
                self._stop_event.wait(self.retry_seconds)

    def process(self, job: Job) -> None:
        """Run one job and store its outcome; a storage error propagates (``run`` waits it out)."""
        self._running = job.id
        try:
            self._process(job)
        finally:
            self._running = None

    def _process(self, job: Job) -> None:
        last = 0.0

        def on_progress(done: int, expected: int | None) -> None:
            nonlocal last
            if self._stop_event.is_set():
                raise WorkStopped("shutting_down", "the server is stopping")
            now = time.monotonic()
            if now - last > 0.5:
                last = now
                if self.store.get(job.id) is None:
                    raise WorkStopped("deleted", "the job was deleted")
                self.store.update(job.id, progress=min(0.99, done / max(expected or done + 1, 1)))

        guard = WorkGuard(self.time_limit, then=on_progress)
        try:
            options = dict(job.options or {})
            recognizer = self.models.for_upload(options.pop("model", None), Path(job.upload))
            result = run_job_kind(job.kind, recognizer, Path(job.upload), job.filename, job.top_k, options, guard)
            outcome: dict[str, Any] = {"status": "done", "progress": 1.0, "result": result}
        except WorkStopped as error:
            if error.code == "shutting_down":  # queued again, its upload kept, for the next start
                self.store.update(
                    job.id, status="queued", progress=0.0, note="interrupted by a server stop and queued again"
                )
                return
            if error.code != "time_limit":
                return  # deleted: its record and upload are gone
            outcome = {"status": "failed", "error": f"the job ran longer than the {self.time_limit:g} s allowed"}
        except sqlite3.Error:
            raise
        except (UnprocessableUpload, ApiError) as error:  # ApiError: a model this server no longer offers
            outcome = {"status": "failed", "error": str(error)}
        except Exception as error:  # a failure inside the server: the job says so, the worker goes on
            log.exception("job %s failed", job.id)
            outcome = {"status": "failed", "error": f"the job failed inside the server ({type(error).__name__})"}
        if self.store.get(job.id) is None:  # deleted while it ran: its landmarks go too
            self.models.cache.forget(job.video)
        else:
            self.store.update(job.id, **outcome)
        Path(job.upload).unlink(missing_ok=True)  # a finished job keeps its result, not the video
