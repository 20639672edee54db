"""Community health through the HTTP API, with exact numbers (docs/metrics.md, "Community health").

Every step is a request (rate limits and the new-account rules on, except the posts-per-hour limit
of new accounts, since the script's members are all new): questions, replies, accepts, a staff
official reply through a ticket, hiding, restoring and deleting replies, merging an older thread
into a newer one, hiding a thread.  The clock is frozen and moved by the script.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from community.extensions import db
from community.models import Thread
from community.services.accounts import users
from tests.deflection.conftest import T0, minutes

HOUR = 3600


class Api:
    """One member's API client (a bearer token: no cookie, no CSRF)."""

    def __init__(self, site, user):
        self.site, self.user = site, user
        self.token = users.issue_token(user)
        db.session.commit()
        self.client = site.app.test_client()

    def call(self, method, url, body=None, status=None):
        response = self.client.open(f"/api/v1{url}", method=method, json=body,
                                    headers={"Authorization": f"Bearer {self.token}"})
        if status is not None:
            assert response.status_code == status, response.get_json()
        return response.get_json()

    def ask(self, category, title):
        return self.call("POST", "/threads", {"category_id": category.id, "title": title,
                                              "body": "Everything is described in the title above."}, 201)["id"]

    def reply(self, thread_id, body="Try turning it off and on again, then sign in."):
        return self.call("POST", f"/threads/{thread_id}/posts", {"body": body}, 201)["id"]

    def accept(self, thread_id, post_id):
        self.call("POST", f"/threads/{thread_id}/accept", {"post_id": post_id}, 200)


@pytest.fixture()
def people(site):
    site.app.config["NEW_ACCOUNT_POSTS_PER_HOUR"] = None
    category = site.category()
    return category, {name: Api(site, site.user(name, role)) for name, role in (
        ("asker", "member"), ("bea", "member"), ("cai", "member"), ("dee", "member"),
        ("agent", "agent"), ("mod", "moderator"))}


def health(api, start="2026-03-02", end="2026-03-02"):
    return api.call("GET", f"/metrics/deflection?from={start}&to={end}", status=200)["health"]


def script(site, category, p):
    """Seven questions asked on 2 March at 09:00 by one asker, and what happened to each."""
    site.at(datetime(2026, 3, 2, 8, 0))
    older = p["cai"].ask(category, "Sync stopped on my phone after the update")   # merged into q6 later
    site.at(datetime(2026, 3, 2, 8, 30))
    p["dee"].reply(older)
    site.at(T0)
    q = {n: p["asker"].ask(category, f"Question number {n} about syncing notes") for n in range(1, 8)}
    hidden_thread = p["asker"].ask(category, "A question that moderators hide")
    site.at(minutes(5))
    p["bea"].reply(hidden_thread)
    own = p["asker"].reply(q[2], "I found it myself: the setting is under Sync.")      # q2: own reply
    site.at(minutes(20))
    ticket = p["agent"].call("POST", f"/threads/{q[3]}/escalate", {}, 201)["ticket"]["id"]
    official = p["agent"].call("POST", f"/tickets/{ticket}/replies",
                               {"body": "Official: reinstall the app.", "public": True}, 201)["post_id"]
    site.at(minutes(30))
    hidden_reply = p["bea"].reply(q[4])                                               # q4: 30 min, hidden
    site.at(minutes(40))
    deleted_reply = p["bea"].reply(q[5])                                              # q5: 40 min, deleted
    site.at(minutes(60))
    first = p["bea"].reply(q[1])                                                      # q1: 1 h
    site.at(minutes(120))
    p["asker"].accept(q[1], first)                                                    # solved at 2 h
    p["agent"].call("PATCH", f"/tickets/{ticket}", {"status": "solved", "accept_post_id": official}, 200)
    p["asker"].accept(q[2], own)                                                      # self-solved
    p["mod"].call("POST", f"/posts/{hidden_reply}/hide", {"hidden": True, "reason": "spam"}, 200)
    p["bea"].call("DELETE", f"/posts/{deleted_reply}", status=200)
    p["mod"].call("POST", f"/threads/{hidden_thread}/hide", {"hidden": True, "reason": "spam"}, 200)
    p["mod"].call("POST", f"/threads/{older}/merge", {"target_id": q[6]}, 200)        # q6: replies from 08:00
    site.at(minutes(150))
    second = p["cai"].reply(q[1])
    site.at(minutes(180))
    p["asker"].accept(q[1], second)                                                   # switching keeps 2 h
    site.at(T0 + timedelta(hours=50))
    p["bea"].reply(q[2])                                                              # q2: 50 h
    site.at(T0 + timedelta(hours=80))
    late = p["dee"].reply(q[7])                                                       # q7: 80 h
    site.at(T0 + timedelta(hours=81))
    p["asker"].accept(q[7], late)                                                     # solved at 81 h
    return q, hidden_reply


def test_health_figures_from_visible_replies_by_others_never_negative(site, people, monkeypatch):
    category, p = people
    q, hidden_reply = script(site, category, p)
    h = health(p["agent"])
    # q1..q7 asked on the day; the merged thread and the hidden one are not questions.
    assert h["questions"] == 7 and h["questions_per_day"] == 7.0
    # answered by the community: q1 (1 h), q2 (50 h), q6 (merged in from before: 0 s), q7 (80 h);
    # not q3 (staff only), q4 (its reply hidden), q5 (its reply deleted).
    assert (h["answered"], h["answered_rate"]) == (4, round(4 / 7, 4))
    assert (h["answered_by_staff"], h["answered_by_staff_rate"]) == (1, round(1 / 7, 4))
    assert (h["solved"], h["self_solved"], h["solved_by_staff"]) == (2, 1, 1)
    assert h["solved_rate"] == round(2 / 7, 4)
    assert (h["answered_24h"], h["answered_72h"]) == (2, 3)
    assert (h["answered_within_24h_rate"], h["answered_within_72h_rate"]) == (round(2 / 7, 4), round(3 / 7, 4))
    # first replies 0, 3600, 180000, 288000 s: median the mean of the middle two, p90 the 4th of 4
    assert h["median_time_to_first_reply_seconds"] == (HOUR + 50 * HOUR) // 2
    assert h["p90_time_to_first_reply_seconds"] == 80 * HOUR
    # accepted: q1 first at 2 h (switching at 3 h keeps it), q7 at 81 h
    assert h["median_time_to_accepted_answer_seconds"] == (2 * HOUR + 81 * HOUR) // 2
    assert h["p90_time_to_accepted_answer_seconds"] == 81 * HOUR
    day = [d for d in p["agent"].call("GET", "/metrics/deflection?from=2026-03-02&to=2026-03-02")["daily"]]
    assert [(d["questions"], d["answered"], d["solved"], d["answered_rate"], d["solved_rate"]) for d in day] == [
        (7, 4, 2, round(4 / 7, 4), round(2 / 7, 4))]

    from community.services.deflection import health as health_rules

    monkeypatch.setattr(health_rules, "CHUNK", 2)      # replies read two threads at a time: the same figures
    assert health(p["agent"]) == h
    monkeypatch.undo()

    p["mod"].call("POST", f"/posts/{hidden_reply}/hide", {"hidden": False}, 200)    # restored: q4 at 30 min
    h = health(p["agent"])
    assert (h["answered"], h["answered_24h"], h["answered_72h"]) == (5, 3, 4)
    # 0, 1800, 3600, 180000, 288000: the median is the middle one, p90 the 5th (⌈4.5⌉)
    assert (h["median_time_to_first_reply_seconds"], h["p90_time_to_first_reply_seconds"]) == (HOUR, 80 * HOUR)


def test_days_and_the_24_and_72_hour_marks_are_inclusive_and_the_range_ends_today(site, people):
    category, p = people
    site.at(datetime(2026, 3, 2, 0, 0, 0))
    first = p["asker"].ask(category, "Question asked at midnight exactly")
    site.at(datetime(2026, 3, 3, 23, 59, 59))
    last = p["asker"].ask(category, "Question asked a second before midnight")
    site.at(datetime(2026, 3, 4, 0, 0, 0))
    next_day = p["asker"].ask(category, "Question asked on the next day")
    site.at(datetime(2026, 3, 3, 0, 0, 0))
    p["bea"].reply(first)                                  # 24 h exactly
    site.at(datetime(2026, 3, 6, 23, 59, 59))
    p["bea"].reply(last)                                   # 72 h exactly
    site.at(datetime(2026, 3, 7, 0, 0, 1))
    p["bea"].reply(next_day)                               # 72 h and a second
    site.at(datetime(2026, 3, 10, 12, 0))
    two = health(p["agent"], "2026-03-02", "2026-03-03")
    assert (two["questions"], two["questions_per_day"], two["answered_24h"], two["answered_72h"]) == (2, 1.0, 1, 2)
    assert (two["median_time_to_first_reply_seconds"], two["p90_time_to_first_reply_seconds"]) == (
        (24 + 72) * HOUR // 2, 72 * HOUR)
    three = health(p["agent"], "2026-03-02", "2026-03-04")
    assert (three["questions"], three["answered"], three["answered_72h"]) == (3, 3, 2)
    assert health(p["agent"], "2026-03-01", "2026-03-03")["questions_per_day"] == 0.67
    site.at(datetime(2026, 3, 6, 12, 0))                   # today is 6 March
    body = p["agent"].call("GET", "/metrics/deflection?from=2026-03-02&to=2026-03-31", status=200)
    assert (body["from"], body["to"], len(body["daily"])) == ("2026-03-02", "2026-03-06", 5)
    assert (body["health"]["questions"], body["health"]["questions_per_day"]) == (3, 0.6)
    future = p["agent"].call("GET", "/metrics/deflection?from=2026-03-07&to=2026-03-31", status=400)
    assert future["error"]["field"] == "from"


def test_a_reply_merged_in_from_an_older_thread_counts_as_zero_seconds(site, people):
    category, p = people
    site.at(datetime(2026, 3, 2, 8, 0))
    older = p["cai"].ask(category, "Sync stopped on my phone after the update")
    site.at(datetime(2026, 3, 2, 8, 30))
    p["dee"].reply(older)
    site.at(T0)
    newer = p["asker"].ask(category, "My notes do not sync on the phone")
    p["mod"].call("POST", f"/threads/{older}/merge", {"target_id": newer}, 200)
    site.at(minutes(60))
    h = health(p["agent"])
    assert (h["questions"], h["answered"], h["answered_24h"]) == (1, 1, 1)
    assert (h["median_time_to_first_reply_seconds"], h["p90_time_to_first_reply_seconds"]) == (0, 0)
    assert h["answered_rate"] == 1.0 and h["solved"] == 0 and h["median_time_to_accepted_answer_seconds"] is None


def test_withdrawing_the_accept_clears_the_solution_and_accepting_again_restarts_it(site, people):
    category, p = people
    site.at(T0)
    thread = p["asker"].ask(category, "Why does my invoice show twice")
    site.at(minutes(10))
    answer = p["bea"].reply(thread)
    site.at(minutes(20))
    p["asker"].accept(thread, answer)
    assert health(p["agent"])["median_time_to_accepted_answer_seconds"] == 20 * 60
    site.at(minutes(30))
    p["asker"].call("POST", f"/threads/{thread}/accept", {"post_id": None}, 200)
    h = health(p["agent"])
    assert (h["solved"], h["median_time_to_accepted_answer_seconds"]) == (0, None)
    site.at(minutes(45))
    p["asker"].accept(thread, answer)
    h = health(p["agent"])
    assert (h["solved"], h["median_time_to_accepted_answer_seconds"], h["answered_24h"]) == (1, 45 * 60, 1)


def test_imported_answers_count_by_their_own_time_not_the_order_they_were_stored_in(site, people):
    """``flask import`` writes posts with their original times, in the file's order."""
    from community.services.forum import threads as forum_threads

    category, p = people
    site.at(T0)
    question = p["asker"].ask(category, "Imported question with answers out of order")
    thread = db.session.get(Thread, question)
    forum_threads.add_reply(p["bea"].user, thread, "Stored first, written at ten.", created_at=minutes(60))
    forum_threads.add_reply(p["cai"].user, thread, "Stored second, written at half past nine.", created_at=minutes(30))
    db.session.commit()
    site.at(minutes(120))
    assert health(p["agent"])["median_time_to_first_reply_seconds"] == 30 * 60
