"""A bulk import's documents on PostgreSQL, written by a thread of their own beside the inserts.

The generated ``tsvector`` columns make PostgreSQL analyse every document's text in the
statement that writes it: at a bulk import that was more than half of the importing
process's wall time, spent waiting for its one database backend while nothing else ran.
Here, as for Whoosh (``bulk_process``), each batch's documents are handed over after its
rows commit, and a thread with its own connection writes them (``COPY`` into a temporary
table, then one ``INSERT ... SELECT``) in a transaction of their own, while the importer
renders and inserts the next batch on its connection: two backends at work instead of one.

The documents are of rows just created, so an existing key means a later write (a member's
edit) already indexed that thread from the database: ``ON CONFLICT DO NOTHING`` keeps it.
The thread's session lets the GIN pending lists grow to ``IMPORT_PENDING_LIST_KB`` (one flush
into the indexes every few batches instead of several a batch: the indexes' CPU of a document
fell by more than half); ``state.refresh_terms`` at the import's end merges them, as the
periodic refresh would after a killed import.  No lock: searches go on reading the index.
At most ``MAX_IN_FLIGHT`` batches wait; a failure stops the import at the next batch and is
raised in the importing process; ``close`` writes what is queued first.  A crash between a
batch's commit and its documents leaves them out until the import is run again (it indexes
the threads it skips that have no document: ``importer``) or ``flask search rebuild``.
"""
from __future__ import annotations

import queue
import threading

from sqlalchemy import text

from .postgres_schema import COLUMNS, IMPORT_PENDING_LIST_KB, PENDING_LIST_KB, TABLE, pending_list_setting

#: Batches handed to the thread and not yet written before ``add`` waits.
MAX_IN_FLIGHT = 2
_STAGING = "import_search_documents"
_NAMES = ", ".join(COLUMNS)


class PostgresBulkIndexer:
    """``search.bulk_writer()`` on PostgreSQL: documents of committed rows, written by a thread."""

    def __init__(self, state, engine):
        self.state = state
        self.count = 0
        self._engine = engine
        self._queue: queue.Queue = queue.Queue(MAX_IN_FLIGHT)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="search-bulk-postgres", daemon=True)
        self._thread.start()

    def add(self, docs: list[dict]) -> int:
        """Queue documents of *new*, committed rows; returns how many (raises the thread's error)."""
        self._raise()
        if not docs:
            return 0
        self._queue.put(docs)
        self.count += len(docs)
        return len(docs)

    def unindexed(self, session, keys: list[str]) -> list[str]:
        """Which of ``keys`` have no document (threads a crashed import committed, not indexed)."""
        if not keys:
            return []
        return list(session.execute(text(
            f"SELECT k FROM unnest(CAST(:keys AS text[])) AS k WHERE NOT EXISTS "
            f"(SELECT 1 FROM {TABLE} WHERE key = k) ORDER BY k"), {"keys": keys}).scalars())

    def close(self) -> None:
        """Write what is queued, stop the thread, raise its error if it had one."""
        self._queue.put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        """Write each queued batch; after a failure, only take batches off the queue (so that
        ``add`` never waits for a thread that stopped writing) until ``close``."""
        try:
            with self._engine.connect() as connection:
                # a pooled connection keeps its temporary table from an earlier import
                connection.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} AS "
                                        f"SELECT {_NAMES} FROM {TABLE} WITH NO DATA"))
                connection.execute(text(pending_list_setting(IMPORT_PENDING_LIST_KB)))
                connection.commit()
                try:
                    while (docs := self._queue.get()) is not None:
                        self._write(connection, docs)
                finally:  # the connection goes back to the pool with the app's setting
                    connection.rollback()
                    connection.execute(text(pending_list_setting(PENDING_LIST_KB)))
                    connection.commit()
                return
        except BaseException as exc:  # noqa: BLE001 - raised in the importing process
            self._error = exc
        while self._queue.get() is not None:
            pass

    def _write(self, connection, docs: list[dict]) -> None:
        cursor = connection.connection.driver_connection.cursor()
        try:
            with cursor.copy(f"COPY {_STAGING} ({_NAMES}) FROM STDIN") as copy:
                for doc in docs:
                    row = self.state._row(doc)
                    copy.write_row([row[name] for name in COLUMNS])
        finally:
            cursor.close()
        connection.execute(text(f"INSERT INTO {TABLE} ({_NAMES}) SELECT {_NAMES} FROM {_STAGING} "
                                "ON CONFLICT (key) DO NOTHING"))
        connection.execute(text(f"TRUNCATE {_STAGING}"))
        connection.commit()
