"""Small Redis reads on the hot path, on connections of this process's own.

A kept page is answered after one ``GET`` of the site's generation (page_cache.py).  Through
``redis.Redis.get`` that read costs about 50 µs of CPU (redis-py 8's pool, retries, events and
metrics around each command), four times the round trip itself, and a third of what the
front door does for a 50-reply thread.  ``FastReads`` sends the command on a connection it
keeps and reads the reply, nothing else; a connection that fails is dropped and the command
is sent again through the client, with its retries and errors, as before.
"""
from __future__ import annotations

import os


class FastReads:
    """``reads("GET", key)`` / ``reads("MGET", *keys)``: the raw reply, as the client gives it."""

    def __init__(self, client):
        self.client = client
        self._pid = os.getpid()
        #: Connections not in use; ``list.pop`` and ``append`` are atomic, so threads share it.
        self._idle: list = []

    def __call__(self, *command):
        if self._pid != os.getpid():       # a forked worker: the parent's sockets are not its own
            self._idle, self._pid = [], os.getpid()
        try:
            connection = self._idle.pop()
        except IndexError:
            pool = self.client.connection_pool
            connection = pool.connection_class(**pool.connection_kwargs)
        try:
            connection.send_command(*command)
            reply = connection.read_response()
        except Exception:  # noqa: BLE001 - any failure: drop it, and let the client try (and raise)
            connection.disconnect()
            return self.client.execute_command(*command)
        self._idle.append(connection)
        return reply
