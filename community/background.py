"""A daemon thread per process that applies work a commit left in the database.

The search queue (``search/queue.py``) and the notification fan-out (``services/fanout.py``)
both write rows in the writer's transaction and apply them after its commit, off the request:
each process runs one thread per kind, woken by its own commits and polling now and then for
rows that a dead process left.  What they share lives here, once:

- **Started on first use in each process**: a thread does not survive gunicorn's fork, so the
  thread remembers the process it was started in and a forked worker starts its own.
- **Woken, else polling**: ``wake()`` after a commit; otherwise a round every ``poll_seconds``.
  A round may ask for a shorter wait (the search queue's busy index lock).
- **Gathering**: a thread with ``gather_seconds`` waits that long after a wake-up before its
  round, so the commits of that moment share one round (one Whoosh commit for a burst of
  replies, not one each).  The wake-up flag is cleared after the wait and before the round reads
  its rows: a commit that woke it before then is read by this round, one after wakes it again.
- **Stopped** by ``stop()`` (tests) after the current round, and **drained at exit**: a worker
  that stops cleanly applies what is waiting (another process would, within a poll).
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref

log = logging.getLogger(__name__)

#: Every thread of this process that was started, drained at exit.
_STARTED: weakref.WeakSet = weakref.WeakSet()


class ProcessThread:
    """One kind of background work in this process; subclasses say what a round does."""

    #: The thread's name (``ps``, py-spy, logs).
    thread_name = "background"
    #: Logged with the traceback when a round fails (the rows stay and the next round retries).
    failure_message = "A background round failed; retrying in %.0fs."

    def __init__(self, poll_seconds: float, gather_seconds: float = 0.0):
        self.poll_seconds = poll_seconds
        self.gather_seconds = gather_seconds
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._start_lock = threading.Lock()
        self._stopped = False

    # -- what a subclass says ------------------------------------------------------------

    def enabled(self) -> bool:
        """Whether this process runs the thread at all."""
        return True

    def run_round(self) -> float | None:
        """Apply what is waiting; the seconds to wait before the next round (None: ``poll_seconds``)."""
        raise NotImplementedError

    def drain(self) -> None:
        """At a clean exit of the process: apply what is waiting (failures are the subclass's to log)."""

    # -- the thread ----------------------------------------------------------------------

    def wake(self) -> None:
        self.ensure_running()
        self._wake.set()

    def ensure_running(self) -> None:
        """Start this process's thread (once per process: a thread does not survive a fork)."""
        if not self.enabled() or self._running_here():
            return
        with self._start_lock:
            if self._running_here():
                return
            self._pid, self._stopped, self._wake = os.getpid(), False, threading.Event()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()
            _started(self)

    def stop(self, timeout: float = 10.0) -> None:
        """End this process's thread after its current round (tests; the thread is a daemon)."""
        self._stopped = True
        self._wake.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout)
        self._thread = None

    def _running_here(self) -> bool:
        return self._pid == os.getpid() and self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        wait = self.poll_seconds
        while True:
            woken = self._wake.wait(wait)
            if woken and self.gather_seconds > 0 and not self._stopped:
                time.sleep(self.gather_seconds)   # the commits of this moment join the round
            self._wake.clear()
            if self._stopped:
                return
            wait = self.poll_seconds
            try:
                wait = self.run_round() or self.poll_seconds
            except Exception:  # noqa: BLE001 - logged; the rows stay and the next round retries
                log.exception(self.failure_message, self.poll_seconds)


def running(kind: type[ProcessThread]) -> list[ProcessThread]:
    """The threads of ``kind`` this process started (tests stop them all)."""
    return [each for each in list(_STARTED) if isinstance(each, kind)]


def _started(thread: ProcessThread) -> None:
    if not getattr(_drain_at_exit, "registered", False):
        atexit.register(_drain_at_exit)
        _drain_at_exit.registered = True
    _STARTED.add(thread)


def _drain_at_exit() -> None:
    for thread in list(_STARTED):
        if thread._pid == os.getpid():
            thread.drain()
