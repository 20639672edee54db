"""WSGI entry point: ``gunicorn wsgi:app``.

Everything the app built at start (~156,000 objects: modules, functions, SQLAlchemy's and
Flask's tables) is moved out of the garbage collector's sight (``gc.freeze``): every full
collection walked all of it, 76-82 ms of CPU each time it ran in a worker, and at 100,000 threads
that pause was the slowest 1% of ``GET /api/v1/suggest`` (docs/search.md, eighth round).
With ``preload_app`` (gunicorn.conf.py) it runs in the master, before the workers fork, so
their copies of those pages are not written to by the collector either.
"""
import gc

from community import create_app

app = create_app()
gc.freeze()
