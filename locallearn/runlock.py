"""One writer per run directory: an exclusive lock held while a run directory is written.

The lock is ``fcntl.flock`` on a lock file *beside* the run directory, ``DIR.lock`` (the
directory's absolute path plus ``.lock``). It lies beside rather than inside because
`locallearn.results.save` replaces the whole directory atomically (a temporary sibling renamed
into place), which would take a lock file inside it along; and because a new run's ``--out``
must stay empty until its first write. The holder writes its process id into the file. The
operating system releases a ``flock`` when its process dies, so a killed run never leaves a
stale lock: the file may stay behind, but the next writer takes the lock at once. A clean
release removes the file (while still holding the lock; a writer that opened the old file
notices that it is gone and opens the new one).

Who locks: `locallearn.protocol.run_protocol` (``run``), `locallearn.protocol.resume_run`
(``run --resume``), `locallearn.sweep.run_sweep` (the sweep directory, which holds every point)
and `locallearn.figures.cached_run` (each cached run directory). A second writer gets
`ConfigError` naming the holder's process id (the command line: one line, exit status 2) and
changes nothing. Locks are re-entrant within a process (a resume that calls the runner holds one
lock).
"""

import contextlib
import fcntl
import os

from .errors import ConfigError

__all__ = ["lock_path", "holder", "run_lock"]

_HELD = {}  # absolute lock path -> [fd, depth] (re-entrant within a process)


def lock_path(run_dir):
    """The lock file of run directory ``run_dir``: ``<absolute path>.lock`` beside it."""
    return os.path.abspath(os.fspath(run_dir)) + ".lock"


def holder(run_dir):
    """The process id written in ``run_dir``'s lock file, or None (no file, or not written yet)."""
    try:
        with open(lock_path(run_dir)) as fh:
            return int(fh.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _acquire(path, what):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                pid = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise ConfigError(what, f"{path[:-5]} is being written by another process "
                              f"(pid {pid}, lock {path}); wait for it or stop it") from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)  # the previous holder removed the file after we opened it: retry


@contextlib.contextmanager
def run_lock(run_dir, what="--out"):
    """Hold the exclusive lock of ``run_dir`` for the ``with`` block.

    ``what`` names the option in the `ConfigError` raised when another process holds it.
    """
    path = lock_path(run_dir)
    entry = _HELD.get(path)
    if entry is not None:
        entry[1] += 1
    else:
        _HELD[path] = entry = [_acquire(path, what), 1]
    try:
        yield path
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            del _HELD[path]
            try:
                os.remove(path)
            except OSError:
                pass
            os.close(entry[0])
