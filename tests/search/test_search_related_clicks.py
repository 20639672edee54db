"""Related-question clicks teach search (issue 16, ``services/learning/clicks.py``): the title of
the thread a visitor was reading becomes a vote for the thread they clicked, at ``flask search
learn``, once per distinct visitor, never from a client keeping no cookie, beyond the hourly
address cap, from a holdout visitor, or for a hidden thread; never over a stronger vote."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from community.models import AskSession, RelatedClick, SearchEvidence, utcnow
from community.services.learning import clicks, evidence
from community.services.moderation import actions as moderation

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}


def pair(make):
    reading = make.thread(title="Receipt file is blank when saved", body="Saving the receipt gives an empty file.")
    clicked = make.thread(title="Exporting a billing statement", body="Statements export as CSV or PDF.")
    return reading, clicked


def visitor(app):
    """A browser that already holds its visitor cookie (it has been on the Ask page)."""
    browser = app.test_client()
    browser.get("/ask", headers=BROWSER)
    return browser


def click(browser, reading, clicked, **headers):
    assert browser.get(f"/threads/{reading.id}/related/{clicked.id}", headers={**BROWSER, **headers}).status_code == 302


def learn(app):
    result = app.test_cli_runner().invoke(args=["search", "learn"])
    assert result.exit_code == 0, result.output
    return result.output


def votes(db):
    return db.session.execute(select(SearchEvidence.thread_id, SearchEvidence.source, SearchEvidence.words)
                              .order_by(SearchEvidence.id)).all()


def suggested(client, query):
    return [r["id"] for r in client.get(f"/api/v1/suggest?q={query}&type=thread").get_json()["results"]]


def test_a_click_makes_the_read_title_a_vote_for_the_clicked_thread_at_learn(app, make, db, client):
    reading, clicked = pair(make)
    db.session.commit()
    assert clicked.id not in suggested(client, "receipt blank saved")
    browser = visitor(app)
    click(browser, reading, clicked)
    click(browser, reading, clicked)  # the same visitor again
    assert votes(db) == []  # not at the click itself
    assert "and 1 from related-question clicks; re-indexed 1 threads." in learn(app)
    assert votes(db) == [(clicked.id, "related", "Receipt file is blank when saved")]
    assert db.session.execute(select(SearchEvidence.voter)).scalar_one().startswith("visitor:")
    assert clicked.id in suggested(client, "receipt blank saved")
    assert "and 1 from related-question clicks; re-indexed 1 threads." in learn(app)  # rebuilt, the same
    assert len(votes(db)) == 1


def test_a_client_keeping_no_cookie_is_recorded_but_teaches_nothing(app, make, db):
    reading, clicked = pair(make)
    for _ in range(3):  # each request a new "visitor"
        click(app.test_client(), reading, clicked)
    assert [kept for (kept,) in db.session.execute(select(RelatedClick.cookie_kept))] == [False] * 3
    learn(app)
    assert votes(db) == []


def test_beyond_the_hourly_address_cap_clicks_teach_nothing(app, make, db):
    app.config["DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR"] = 2
    reading, clicked = pair(make)
    other = make.thread(title="Receipt totals show the wrong currency", body="Totals in dollars, not euros.")
    for target in (clicked, other, clicked):  # three visitors, one address, one hour
        click(visitor(app), reading, target)
    learn(app)
    assert sorted(thread_id for thread_id, _, _ in votes(db)) == sorted([clicked.id, other.id])
    app.config["DEFLECTION_EXCLUDE_AUTOMATED"] = False  # then no cap
    learn(app)
    assert sorted(thread_id for thread_id, _, _ in votes(db)) == sorted([clicked.id, clicked.id, other.id])


def test_a_holdout_visitor_teaches_nothing_for_the_attribution_window(app, make, db):
    reading, clicked = pair(make)
    browser = visitor(app)
    click(browser, reading, clicked)
    visitor_id = db.session.execute(select(RelatedClick.visitor_id)).scalar_one()
    db.session.add(AskSession(id="h" * 32, visitor_id=visitor_id, page="ask", arm="holdout",
                              started_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    learn(app)
    assert votes(db) == []
    db.session.execute(select(AskSession).where(AskSession.id == "h" * 32)).scalar_one().started_at = \
        utcnow() - timedelta(days=float(app.config.get("DEFLECTION_WINDOW_DAYS", 7)) + 1)
    db.session.commit()
    learn(app)
    assert [source for _, source, _ in votes(db)] == ["related"]


def test_hidden_threads_and_stronger_votes_are_left_alone(app, make, db):
    reading, clicked = pair(make)
    browser = visitor(app)
    click(browser, reading, clicked)
    click(browser, clicked, reading)
    visitor_id = db.session.execute(select(RelatedClick.visitor_id).limit(1)).scalar_one()
    evidence.vote(reading.id, evidence.visitor_voter(visitor_id), "confirmed", "blank receipt", utcnow())
    db.session.commit()
    clicks.rebuild()  # the confirmation of the same visitor stays; the other click is learned
    db.session.commit()
    assert sorted(votes(db)) == sorted([(reading.id, "confirmed", "blank receipt"),
                                        (clicked.id, "related", "Receipt file is blank when saved")])
    moderation.hide_thread(make.user("mod", role="moderator"), reading, "spam")  # the page read is hidden
    db.session.commit()
    learn(app)
    assert [(t, s) for t, s, _ in votes(db) if s == "related"] == []
