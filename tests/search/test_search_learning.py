"""Suggestions that learn (issue 16): scripted visitors through HTTP teach search which words ask for which thread.

A counted confirmation makes the words typed a vote for the thread (learned at once);
a suggestion opened and followed by no contact does so at ``flask search learn``,
after its window.  One vote per distinct visitor, at most ``LEARN_CAP`` per thread,
old votes decay; holdout sessions, script-less (excluded) sessions, the contact page
and hidden threads teach nothing.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from community.extensions import db
from community.models import AskSession, SearchEvidence
from community.search import learned
from community.services.learning import evidence
from tests.deflection.conftest import T0, minutes, rules_app, running_site

QUERY = "billing receipts pdf"


@pytest.fixture()
def site(tmp_path):
    with running_site(rules_app(tmp_path)) as scripted:
        yield scripted


@pytest.fixture()
def threads(site):
    receipts = site.thread("Billing receipts for last year are missing",
                           "The billing history shows this year only; older receipts are gone.")
    pdf = site.thread("Invoices do not download as a PDF file",
                      "Clicking download on an invoice gives an empty page.")
    return receipts, pdf


def ranking(site, query=QUERY):
    """``[(thread id, score)]`` that anyone gets from the public suggest API, on a freshly
    rebuilt index (re-indexing leaves deleted documents that shift BM25's statistics on
    a two-thread site; a rebuild makes scores comparable to the digit)."""
    assert site.app.test_cli_runner().invoke(args=["search", "rebuild"]).exit_code == 0
    body = site.visitor().get(f"/api/v1/suggest?q={query}&type=thread").get_json()
    return [(r["id"], r["score"]) for r in body["results"]]


def confirm(site, visitor, thread, at, query=QUERY, *, beacon=True):
    site.at(minutes(at))
    sid = visitor.open_page("/ask", beacon=beacon)
    shown = visitor.suggest(sid, query, types="thread")["results"]
    assert thread.id in [r["id"] for r in shown]
    assert visitor.open(sid, thread.id).status_code == 302
    assert visitor.confirm(sid, thread.id).status_code == 200
    return sid


def votes():
    return db.session.execute(select(SearchEvidence.thread_id, SearchEvidence.voter, SearchEvidence.source,
                                     SearchEvidence.words).order_by(SearchEvidence.id)).all()


def test_confirmations_of_distinct_visitors_lift_the_thread_for_the_words_they_typed(site, threads):
    receipts, pdf = threads
    before = ranking(site)
    assert [thread_id for thread_id, _ in before] == [receipts.id, pdf.id]
    assert [thread_id for thread_id, _ in ranking(site, "billing receipts")] == [receipts.id]
    visitors = [site.visitor() for _ in range(10)]
    for n, visitor in enumerate(visitors):
        confirm(site, visitor, pdf, 10 * n)
    assert [(t, source, words) for t, _v, source, words in votes()] == [(pdf.id, "confirmed", QUERY)] * 10
    after = ranking(site)
    assert [thread_id for thread_id, _ in after] == [receipts.id, pdf.id]
    assert dict(after)[pdf.id] > dict(before)[pdf.id] * 1.5  # 2.89 -> 4.68 with ten votes at weight 0.3
    assert dict(after)[receipts.id] == dict(before)[receipts.id]  # the other thread did not move
    # Words the thread never contained now find it too.
    assert [thread_id for thread_id, _ in ranking(site, "billing receipts")] == [receipts.id, pdf.id]


def test_one_visitor_confirming_again_and_again_counts_once(site, threads):
    _receipts, pdf = threads
    visitor = site.visitor()
    confirm(site, visitor, pdf, 0)
    once = dict(ranking(site))[pdf.id]
    for n in range(1, 5):  # four more sessions, same cookie
        confirm(site, visitor, pdf, 40 * n)
    assert len(votes()) == 1
    assert dict(ranking(site))[pdf.id] == once


def test_at_most_learn_cap_votes_count_for_a_thread(site, threads, monkeypatch):
    _receipts, pdf = threads
    monkeypatch.setattr(learned, "LEARN_CAP", 2)
    scores = []
    for n in range(3):
        confirm(site, site.visitor(), pdf, 10 * n)
        scores.append(dict(ranking(site))[pdf.id])
    assert len(votes()) == 3
    assert scores[0] < scores[1] == scores[2]


def test_holdout_sessions_teach_nothing(tmp_path):
    app = rules_app(tmp_path)
    app.config["DEFLECTION_HOLDOUT"] = 1.0  # every session held out
    with running_site(app) as site:
        receipts = site.thread("Billing receipts for last year are missing", "Older receipts are gone.")
        before = ranking(site)
        visitor = site.visitor()
        sid = visitor.open_page("/ask")
        body = visitor.suggest(sid, QUERY, types="thread")
        assert (body["results"], body.get("holdout")) == ([], True)
        assert visitor.open(sid, receipts.id).status_code == 302  # forwards, records nothing
        assert visitor.confirm(sid, receipts.id).status_code == 404
        site.at(minutes(24 * 60))
        result = app.test_cli_runner().invoke(args=["search", "learn"])
        assert result.output.strip() == "Learned 0 votes from ask sessions, 0 from closed duplicates, 0 from accepted answers and ideas linking to threads and 0 from related-question clicks; re-indexed 0 threads."
        assert votes() == [] and ranking(site) == before
        # ... and even a confirmation recorded for a holdout session would not be learned.
        session = db.session.get(AskSession, sid)
        assert session.arm == "holdout"
        assert evidence.record_confirmation(session, receipts, minutes(5)) is False


def test_script_less_and_contact_page_confirmations_teach_nothing(site, threads):
    _receipts, pdf = threads
    before = ranking(site)
    confirm(site, site.visitor(), pdf, 0, beacon=False)  # excluded as automated
    visitor = site.visitor()
    site.at(minutes(10))
    sid = visitor.open_page("/support/contact")  # what is typed there is ticket text
    assert pdf.id in [r["id"] for r in visitor.suggest(sid, QUERY, types="thread")["results"]]
    assert visitor.open(sid, pdf.id).status_code == 302
    assert visitor.confirm(sid, pdf.id).status_code == 200
    assert votes() == [] and ranking(site) == before


def test_an_opened_suggestion_with_no_contact_is_learned_by_the_command_after_its_window(site, threads):
    receipts, pdf = threads
    before = dict(ranking(site))
    quiet, contacting = site.visitor(), site.visitor()
    for visitor in (quiet, contacting):
        site.at(minutes(0))
        sid = visitor.open_page("/ask")
        visitor.suggest(sid, QUERY, types="thread")
        assert visitor.open(sid, pdf.id).status_code == 302
    site.at(minutes(10))
    sid = contacting.open_page("/support/contact")
    assert contacting.contact(sid).status_code == 302
    runner = site.app.test_cli_runner()
    site.at(minutes(20))  # inside the 30-minute window: pending, nothing learned yet
    assert runner.invoke(args=["search", "learn"]).output.strip() == "Learned 0 votes from ask sessions, 0 from closed duplicates, 0 from accepted answers and ideas linking to threads and 0 from related-question clicks; re-indexed 0 threads."
    site.at(minutes(45))
    assert runner.invoke(args=["search", "learn"]).output.strip() == "Learned 1 votes from ask sessions, 0 from closed duplicates, 0 from accepted answers and ideas linking to threads and 0 from related-question clicks; re-indexed 1 threads."
    assert [(t, source, words) for t, _v, source, words in votes()] == [(pdf.id, "opened", QUERY)]
    after = dict(ranking(site))
    assert after[pdf.id] > before[pdf.id] and after[receipts.id] == before[receipts.id]
    # Rebuilding again gives the same rows (derived data), and a hidden thread loses its votes.
    assert runner.invoke(args=["search", "learn"]).output.strip() == "Learned 1 votes from ask sessions, 0 from closed duplicates, 0 from accepted answers and ideas linking to threads and 0 from related-question clicks; re-indexed 1 threads."
    pdf.hidden = True
    db.session.commit()
    assert runner.invoke(args=["search", "learn"]).output.strip() == "Learned 0 votes from ask sessions, 0 from closed duplicates, 0 from accepted answers and ideas linking to threads and 0 from related-question clicks; re-indexed 1 threads."
    assert votes() == []


def test_a_contact_after_a_confirmation_takes_its_vote_back(site, threads):
    _receipts, pdf = threads
    before = dict(ranking(site))
    visitor = site.visitor()
    confirm(site, visitor, pdf, 0)
    assert len(votes()) == 1
    site.at(minutes(60))
    sid = visitor.open_page("/support/contact")
    assert visitor.contact(sid).status_code == 302
    assert votes() == [] and dict(ranking(site)) == before


def test_old_votes_decay_then_expire():
    now = T0
    assert [learned.copies(now - timedelta(days=d), now) for d in (0, 100, 180, 300, 420)] == [2, 1, 1, 1, 0]


def test_suggest_api_limit_and_staff_explain(site, threads):
    receipts, pdf = threads
    confirm(site, site.visitor(), pdf, 0)
    visitor = site.visitor()
    assert visitor.get(f"/api/v1/suggest?q={QUERY}&limit=11").status_code == 400
    assert visitor.get(f"/api/v1/suggest?q={QUERY}&limit=x").get_json()["error"]["code"] == "validation_error"
    assert len(visitor.get(f"/api/v1/suggest?q={QUERY}&limit=1").get_json()["results"]) == 1
    assert visitor.get(f"/api/v1/suggest?q={QUERY}&explain=1").status_code == 403
    member = site.visitor()
    member.login(site.user())
    assert member.get(f"/api/v1/suggest?q={QUERY}&explain=1").status_code == 403
    staff = site.visitor()
    staff.login(site.user(role="moderator"))
    ranking(site)  # rebuilt: on two threads, the deleted copies of re-indexed ones would make "pdf" look common
    body = staff.get(f"/api/v1/suggest?q={QUERY}&type=thread&explain=1").get_json()
    by_id = {r["id"]: r["explain"] for r in body["results"]}
    assert by_id[receipts.id] == {"matched": [
        {"field": "question", "term": "bill", "weight": 1.2}, {"field": "question", "term": "receipt", "weight": 1.2},
        {"field": "title", "term": "bill", "weight": 3.0}, {"field": "title", "term": "receipt", "weight": 3.0}],
        "learned": None}
    assert by_id[pdf.id]["learned"] == {"votes": 1, "counted": 1, "by_source": {"confirmed": 1},
                                        "recent_words": [QUERY], "weight": 0.3}
    assert {"field": "learned", "term": "receipt", "weight": 0.3} in by_id[pdf.id]["matched"]
    assert {"field": "title", "term": "pdf", "weight": 3.0} in by_id[pdf.id]["matched"]
