"""Category and tag listings (each sort, pagination), the home page, and the thread page."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from community.models import utcnow
from community.services.forum import accepting, votes


def titles(html: str) -> list[str]:
    return re.findall(r'<a href="/threads/\d+/[^"]*">([^<]+)</a>', html)


@pytest.fixture()
def listing(db, make):
    """Four threads with known ages, votes, answers and accepts."""
    category = make.category("Sync")
    asker, helper, voter = make.user("asker"), make.user("helper"), make.user("voter")
    now = utcnow()
    made = {}
    for i, name in enumerate(["Alpha question here", "Bravo question here", "Charlie question here",
                              "Delta question here"]):
        thread = make.thread(author=asker, category=category, title=name, tags=["sync"])
        thread.created_at = now - timedelta(days=10 - i)          # Alpha oldest, Delta newest
        thread.last_activity_at = now - timedelta(days=10 - i)
        made[name.split()[0]] = thread
    db.session.commit()
    a = make.reply(made["Alpha"], author=helper)                  # Alpha: answered + solved, most recent activity
    make.reply(made["Charlie"], author=helper)                    # Charlie: answered, unsolved
    accepting.accept(asker, made["Alpha"], a)
    votes.set_vote(voter, made["Bravo"].posts[0], 1)              # Bravo: most votes
    db.session.commit()
    return category, made


SORTS = {
    "activity": ["Charlie", "Alpha", "Delta", "Bravo"],
    "newest": ["Delta", "Charlie", "Bravo", "Alpha"],
    "votes": ["Bravo"],            # first; the rest tie at 0 and follow by activity
    "unanswered": ["Delta", "Bravo"],
    "unsolved": ["Charlie", "Delta", "Bravo"],
    "solved": ["Alpha"],
}


@pytest.mark.parametrize("sort", sorted(SORTS))
@pytest.mark.parametrize("kind", ["category", "tag"])
def test_each_sort(client, listing, sort, kind):
    category, _ = listing
    url = f"/categories/{category.slug}" if kind == "category" else "/tags/sync"
    html = client.get(f"{url}?sort={sort}").get_data(as_text=True)
    got = [t.split()[0] for t in titles(html)]
    if sort == "votes":
        assert got[0] == "Bravo" and len(got) == 4
    else:
        assert got == SORTS[sort]


def test_unknown_sort_falls_back_to_activity(client, listing):
    category, _ = listing
    html = client.get(f"/categories/{category.slug}?sort=bogus").get_data(as_text=True)
    assert [t.split()[0] for t in titles(html)] == SORTS["activity"]


def test_pagination(client, app, make, db):
    app.config["PAGE_SIZE"] = 3
    category = make.category("Paged")
    author = make.user("pager")
    for i in range(7):
        make.thread(author=author, category=category, title=f"Paged question number {i}")
    page1 = client.get(f"/categories/{category.slug}?sort=newest").get_data(as_text=True)
    page3 = client.get(f"/categories/{category.slug}?sort=newest&page=3").get_data(as_text=True)
    assert [t[-1] for t in titles(page1)] == ["6", "5", "4"]
    assert [t[-1] for t in titles(page3)] == ["0"]
    assert "7 threads" in page1
    assert 'rel="next"' in page1 and "sort=newest" in page1.split('rel="next"')[0].rsplit("href=", 1)[1]
    assert client.get(f"/categories/{category.slug}?page=99").status_code == 200
    assert client.get("/categories/no-such-category").status_code == 404


def test_home_shows_search_categories_recent_and_unanswered(client, listing):
    html = client.get("/").get_data(as_text=True)
    assert 'role="search"' in html and "Categories" in html
    assert "Recent activity" in html and "Unanswered" in html
    unanswered = html.split("Unanswered")[1]
    assert "Delta question here" in unanswered and "Charlie question here" not in unanswered.split("Popular tags")[0]


def test_bare_id_and_wrong_slug_redirect_to_the_slug_url(client, make):
    thread = make.thread(title="Where is the export button?")
    for url in (f"/threads/{thread.id}", f"/threads/{thread.id}/wrong-slug"):
        r = client.get(url)
        assert r.status_code == 301
        assert r.headers["Location"].endswith(f"/threads/{thread.id}/where-is-the-export-button")
    assert client.get(f"/threads/{thread.id}?order=date").headers["Location"].endswith("?order=date")
    assert client.get("/threads/99999").status_code == 404


def test_accepted_answer_is_shown_first_then_by_votes_or_date(client, db, make):
    thread = make.thread()
    make.reply(thread, body="OLD answer text")
    popular, accepted = make.reply(thread, body="POPULAR answer text"), make.reply(thread, body="ACCEPTED answer text")
    votes.set_vote(make.user(), popular, 1)
    accepting.accept(thread.author, thread, accepted)
    db.session.commit()
    html = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    order = [html.index(x) for x in ("ACCEPTED", "POPULAR", "OLD")]
    assert order == sorted(order)
    assert html.index(thread.posts[0].body[:20]) < order[0]
    by_date = client.get(f"/threads/{thread.id}/{thread.slug}?order=date").get_data(as_text=True)
    order = [by_date.index(x) for x in ("ACCEPTED", "OLD", "POPULAR")]
    assert order == sorted(order)


def test_view_counts_once_per_viewer_per_day(app, client, db, make, login, monkeypatch):
    thread = make.thread()
    url = f"/threads/{thread.id}/{thread.slug}"
    for _ in range(3):
        client.get(url)
    db.session.refresh(thread)
    assert thread.view_count == 1
    other = app.test_client()
    other.get(url, headers={"User-Agent": "another browser"})
    db.session.refresh(thread)
    assert thread.view_count == 2
    login(make.user("viewer"))
    client.get(url)
    client.get(url)
    db.session.refresh(thread)
    assert thread.view_count == 3

    from community.services.forum import view_counts

    monkeypatch.setattr(view_counts, "utcnow", lambda: utcnow() + timedelta(days=1))
    client.get(url)
    db.session.refresh(thread)
    assert thread.view_count == 4
    assert "viewed 4 times" in client.get(url).get_data(as_text=True)


def test_deleted_thread_is_gone_for_members_but_not_moderators(client, db, make, login):
    thread = make.thread()
    thread.deleted = True
    db.session.commit()
    assert client.get(f"/threads/{thread.id}/{thread.slug}").status_code == 404
    login(make.user("mod", role="moderator"))
    assert client.get(f"/threads/{thread.id}/{thread.slug}").status_code == 200


def test_views_are_written_after_a_write_request_that_left_a_transaction_open(app, client, db, make):
    """A POST whose session began a transaction again after committing (on SQLite ``BEGIN
    IMMEDIATE``, the write lock) still had it open when the teardown wrote the batched views on
    another connection: the write waited out the busy timeout and the views were lost."""
    from sqlalchemy import func, select

    from community.extensions import db as app_db
    from community.models import Thread
    from community.services.forum import view_counts

    thread = make.thread()
    db.session.commit()
    thread_id = thread.id

    def read_after_commit():
        view_counts.record(thread_id, "a-reader")
        app_db.session.commit()
        app_db.session.execute(select(func.count()).select_from(Thread))   # a new transaction, left open
        return "ok"

    app.add_url_rule("/_test/read-after-commit", "read_after_commit", read_after_commit, methods=["POST"])
    assert client.post("/_test/read-after-commit").status_code == 200
    assert db.session.execute(select(Thread.view_count).where(Thread.id == thread_id)).scalar_one() == 1
