"""One run at a time per data folder: runs that share a folder cannot mix their tables.

Every run of a project reads and writes the same intermediate tables (``customers``,
``customer_features``, the model input, the sweep...) under its data folder (``data_root``):
two runs at once would read each other's half-written tables, and a model version could hold
another run's customers while looking complete. So a run takes the folder's lock
(``<data_root>/.run.lock``) before anything is read or written and holds it to its end; a run
that finds it taken stops at once, naming the run that holds it (its stamp, pipelines, start,
process and command). Nothing is read, written or versioned by the run that stops.

The lock is the operating system's (``fcntl.flock`` on the lock file): it belongs to the
process that holds it, so a run that crashed or was killed holds nothing, and the next run
takes it. Environments with their own data folder (``--env spark``: ``data/spark``, ``--env
database``: ``data/database``) have their own lock. The app only reads complete model versions;
it takes no lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from kedro.framework.hooks import hook_impl

LOCK_FILE = ".run.lock"


class RunInProgressError(RuntimeError):
    """Another run holds the data folder; the message names it."""


def _holder(text: str) -> str:
    """The run a lock file describes, in words."""
    try:
        about = json.loads(text)
    except ValueError:
        return "a run that has not said what it is yet"
    return (
        f"run {about['run']} (pipelines {', '.join(about['pipelines'])}, environment "
        f"{about['env']}), started {about['started']} by process {about['pid']} on "
        f"{about['host']}: {about['command']}"
    )


class RunLock:
    """The lock of one data folder (:data:`LOCK_FILE` in it)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._handle: IO[str] | None = None

    def acquire(self, about: dict[str, Any]) -> None:
        """Take the lock and write ``about`` (the run) into the lock file.

        Raises:
            RunInProgressError: another process holds it (named from the lock file).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _holder(handle.read())
            handle.close()
            raise RunInProgressError(
                f"{self.path.parent} is in use by {holder}. Runs that share a data folder read "
                "and write the same tables, so this run stops before reading or writing "
                "anything. Run it again when that one has finished (a run that crashed or was "
                "stopped holds nothing), or give it a data folder of its own (data_root in "
                "conf/<env>/globals.yml)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(about))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Let the lock go (a lock this process does not hold: nothing to do)."""
        if self._handle is None:
            return
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None


class RunLockHook:
    """Takes the data folder's :class:`RunLock` before any other hook or node of a run reads
    or writes, and lets it go after every other hook has finished (the figure workers' last
    figures included), or when the run fails, or when another hook refuses to start it.
    """

    def __init__(self) -> None:
        self._lock: RunLock | None = None
        self._folder: Path | None = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """The run's data folder: ``data_root`` of its environment, in the project."""
        root = Path(str(context.config_loader["globals"]["data_root"]))
        self._folder = root if root.is_absolute() else Path(context.project_path) / root

    @hook_impl(hookwrapper=True)
    def before_pipeline_run(self, run_params: dict[str, Any]) -> Generator[None, Any, None]:
        """Take the lock first; let it go if a later hook refuses the run."""
        folder = self._folder or Path(run_params["project_path"]) / "data"
        self._lock = RunLock(folder)
        self._lock.acquire(
            {
                "run": run_params.get("run_id"),
                "pipelines": run_params.get("pipeline_names") or ["__default__"],
                "env": run_params.get("env") or "local",
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": " ".join(sys.argv),
            }
        )
        outcome = yield
        if outcome.exception is not None:
            self._release()

    @hook_impl(trylast=True)
    def after_pipeline_run(self) -> None:
        """The run finished: let the lock go, after every other hook."""
        self._release()

    @hook_impl(trylast=True)
    def on_pipeline_error(self) -> None:
        """The run failed: let the lock go, after every other hook."""
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
