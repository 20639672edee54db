"""CPU per request, in-process: a member's 50-reply thread page drawn vs kept, against hello.

    python bench/member_page_cpu.py [--requests 200] [--json out.json]

Builds a SQLite site in a temporary folder (a thread with 50 replies, a moderator signed in
through the login form), then for each case sends ``--requests`` GETs through Flask's test
client and reads the process's CPU time (``time.process_time``: on a shared, loaded machine
wall time follows the other jobs, CPU time hardly does):

- hello: ``bench/hello_app.py``'s ``/hello``;
- the member's thread page with members' pages off (``MEMBER_PAGE_CACHE_ENTRIES = 0``: drawn
  every time, post cards kept as before);
- the same with members' pages on (kept; community/page_cache_members.py).

Prints CPU ms per request and hello's CPU over it (the throughput ratio a CPU-bound server
would have), writes JSON.  The test client skips the socket and gunicorn, which costs hello
and the site alike (bench/pages.py measures through gunicorn).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def cpu_per_request(client, url: str, n: int) -> float:
    for _ in range(3):
        assert client.get(url).status_code == 200
    start = time.process_time()
    for _ in range(n):
        client.get(url)
    return (time.process_time() - start) * 1000 / n


def site(tmp: Path, members: int):
    from community import create_app
    from community.extensions import db
    from community.services.accounts import users
    from community.services.forum import threads

    app = create_app({"INSTANCE_PATH": str(tmp), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'site.db'}",
                      "SEARCH_INDEX_DIR": str(tmp / "index"), "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "SEARCH_INDEX_SYNC": True,
                      "MEMBER_PAGE_CACHE_ENTRIES": members, "REQUEST_LOG": False, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        if not (tmp / "site.db").exists() or not db.inspect(db.engine).has_table("threads"):
            db.create_all()
            helpers = [users.create_user(f"helper{i}", f"h{i}@example.com", "bench-password-1", "member")
                       for i in range(5)]
            users.create_user("benchuser", "bench@example.com", "bench-password-1", "moderator")
            category = threads.create_category("Sync", "The desktop client")
            thread = threads.create_thread(helpers[0], category, "Bench: why does the sync client stop overnight?",
                                           "It stops every night around 2am until I log in.", ["sync"])
            for i in range(50):
                threads.add_reply(helpers[i % 5], thread, f"Reply {i + 1}: check **Settings → Power** and turn "
                                  "off *sleep while idle*; see the [guide](https://example.com/guide).", notify=False)
            db.session.commit()
        from community.models import Thread

        thread = db.session.execute(db.select(Thread)).scalars().first()
        url = f"/threads/{thread.id}/{thread.slug}"
        db.session.remove()
    client = app.test_client()
    assert client.post("/login", data={"login": "benchuser", "password": "bench-password-1"}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "benchuser" in page and 'action="/logout"' in page
    return app, client, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import hello_app

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        hello = hello_app.app.test_client()
        results["hello"] = cpu_per_request(hello, "/hello", args.requests * 5)
        for name, members in (("thread, 50 replies, member, drawn", 0), ("thread, 50 replies, member, kept", 300)):
            app, client, url = site(Path(tmp), members)
            results[name] = cpu_per_request(client, url, args.requests)
        results["hello (again)"] = cpu_per_request(hello, "/hello", args.requests * 5)
    hello_ms = (results["hello"] + results["hello (again)"]) / 2
    print(f"{'case':<40} {'CPU ms':>8} {'hello / it':>10}")
    for name, ms in results.items():
        print(f"{name:<40} {ms:>8.2f} {hello_ms / ms:>10.0%}")
    if args.json:
        args.json.write_text(json.dumps({"cpu_ms": results, "requests": args.requests}, indent=2))


if __name__ == "__main__":
    main()
