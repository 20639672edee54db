"""How much recording costs a request, and how long the metrics take to compute on read.

    python bench/deflection_load.py [SESSIONS] [DATABASE_URL]

Builds SESSIONS ask sessions over 30 days (each: suggestions shown, most opened, some
confirmed, some contacts) in a fresh database, timing every event INSERT, then times
``deflection_report`` over the 30 days.  SQLite in a temporary folder by default.
"""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta

from community.services.deflection import ask_sessions, metrics


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    tmp = tempfile.mkdtemp()
    url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{tmp}/bench.db"
    from community import create_app
    from community.extensions import db

    app = create_app({"TESTING": True, "INSTANCE_PATH": tmp, "SQLALCHEMY_DATABASE_URI": url,
                      "SEARCH_INDEX_DIR": f"{tmp}/index", "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False})
    rng = random.Random(4)
    start = datetime(2026, 1, 1)
    timings: list[float] = []
    statements: list[float] = []
    with app.app_context():
        db.create_all()
        from community.services.accounts import users
        from community.services.forum import threads

        author = users.create_user("bench", "bench@example.com", "password123")
        category = threads.create_category("Bench", "")
        for n in range(300):  # suggestions point at real threads (foreign keys on PostgreSQL)
            threads.create_thread(author, category, f"Benchmark question number {n}",
                                "A question body long enough to be valid.", notify=False)
        db.session.commit()
        for i in range(sessions):
            at = start + timedelta(seconds=rng.randrange(30 * 86400))
            s = ask_sessions.start_or_resume_session(visitor_id=f"{i:032x}", page="ask",
                                                   address_key=f"bench-{i % 97}", now=at)
            s.beacon_at = at
            db.session.commit()
            steps = [("shown", 0)]
            if rng.random() < 0.7:
                steps.append(("opened", 1))
                roll = rng.random()
                if roll < 0.25:
                    steps.append(("confirmed", 3))
                elif roll < 0.55:
                    steps.append(("question_posted", rng.choice((10, 40))))
            for kind, minutes in steps:
                when = at + timedelta(minutes=minutes)
                t = time.perf_counter()
                if kind == "shown":
                    ask_sessions.record_suggestions_shown(s.id, f"query {rng.randrange(500)}",
                                                        [f"thread:{rng.randrange(1, 301)}"], at=when)
                elif kind == "opened":
                    ask_sessions.record_event(s.id, "suggestion_opened", thread_id=rng.randrange(1, 301),
                                              at=when)
                elif kind == "confirmed":
                    ask_sessions.record_event(s.id, "confirmed", thread_id=1, at=when)
                else:
                    ask_sessions.record_event(s.id, kind, at=when)
                db.session.flush()
                statements.append(time.perf_counter() - t)
                db.session.commit()
                timings.append(time.perf_counter() - t)
        for label, values in (("statements only", statements), ("statements + commit", timings)):
            values.sort()
            print(f"events recorded: {len(values)}  {label}: median {statistics.median(values) * 1000:.2f} ms"
                  f"  p95 {values[int(len(values) * 0.95)] * 1000:.2f} ms")
        t = time.perf_counter()
        report = metrics.deflection_report(date(2026, 1, 1), date(2026, 1, 30), now=datetime(2026, 3, 1))
        elapsed = time.perf_counter() - t
        print(f"deflection_report over 30 days, {report['sessions']} sessions: {elapsed:.2f} s "
              f"(confirmed {report['confirmed_deflections']}, inferred {report['inferred_deflections']}, "
              f"rate {report['deflection_rate']})")


if __name__ == "__main__":
    main()
