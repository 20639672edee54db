"""Demand: the worked example of docs/ideas.md with exact numbers, overlapping people counted once,
sorting and filtering by demand, the CSV columns and the API's ``demand`` object."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from community.models import utcnow
from community.services.ideas import demand, exchange, links, lists
from community.services.tickets import escalation, workflow


def _ticket(db, subject, *, requester=None, email=None, days_ago=0, thread=None):
    ticket = workflow.open_ticket(source="contact", subject=subject, body="Please add this.",
                                  requester=requester, requester_email=email,
                                  requester_name=None if requester else "Guest", thread_id=thread.id if thread else None)
    ticket.created_at = utcnow() - timedelta(days=days_ago)
    db.session.flush()
    return ticket


def worked_example(make, db):
    """docs/ideas.md, "Worked example", built through the services."""
    agent = make.user("agent", role="agent")
    alice, bob, carol, dave, eve = (make.user(n) for n in ("alice", "bob", "carol", "dave", "eve"))
    pat = make.user("pat", role="product")
    category = make.category("Reports")
    idea = exchange.create_idea(alice, category, "Export reports to CSV", "A CSV button on every report.")
    for voter in (bob, carol, pat):
        exchange.set_vote(voter, idea, 1)
    t1 = make.thread(author=alice, category=category, title="How do I get my report into a spreadsheet?")
    t2 = make.thread(author=dave, category=category, title="Is there any CSV export for reports?")
    t3 = make.thread(author=eve, category=category, title="Report export to CSV please, urgently")
    for thread in (t1, t2, t3):
        links.link_thread(agent, idea, thread)
    t3.deleted = True                              # removed later (e.g. as spam): no longer demand
    k1 = _ticket(db, "CSV export of reports", requester=dave, days_ago=10)
    k2 = _ticket(db, "Need report exports", email="frank@example.com", days_ago=100)
    k3 = _ticket(db, "Spreadsheet export", email="Bob@Example.com", days_ago=5)
    for ticket in (k1, k2, k3):
        links.link_ticket(agent, idea, ticket)
    k4 = escalation.escalate(t2, agent)           # opened from a linked thread, not linked itself
    k4.created_at = utcnow() - timedelta(days=20)
    db.session.commit()
    return idea, {"t1": t1, "t2": t2, "t3": t3, "k1": k1, "k2": k2, "k3": k3, "k4": k4}


def test_worked_example_exact_numbers(make, db):
    idea, _ = worked_example(make, db)
    # votes: alice (author), bob, carol, pat = 4
    # customers: alice, bob (voter, and the guest email of K3), carol, dave (T2 and K1), frank (guest) = 5;
    #   pat is staff, eve's thread is deleted
    # threads: T1, T2 = 2 (T3 deleted); tickets: K1, K2, K3 = 3
    # contacts_90d: K1 (10 days), K3 (5 days), K4 (20 days, from linked T2) = 3; K2 is 100 days old
    assert demand.demand_for(idea) == {"votes": 4, "customers": 5, "threads": 2, "tickets": 3,
                                       "contacts_90d": 3, "demand": 8}


def test_a_person_counts_once_however_many_ways_they_ask(make, db):
    agent = make.user(role="agent")
    customer = make.user("sam")
    idea = exchange.create_idea(customer, make.category(), "Dark mode for the web app", "My eyes hurt at night.")
    thread = make.thread(author=customer, title="Is there a dark theme for the web app?")
    links.link_thread(agent, idea, thread)
    for n in range(3):
        links.link_ticket(agent, idea, _ticket(db, f"Dark mode please {n}", requester=customer, days_ago=n))
    links.link_ticket(agent, idea, _ticket(db, "Dark mode (guest)", email="SAM@example.com"))
    db.session.commit()
    figures = demand.demand_for(idea)
    assert figures["customers"] == 1
    assert (figures["votes"], figures["threads"], figures["tickets"], figures["contacts_90d"]) == (1, 1, 4, 4)
    assert figures["demand"] == 5


def test_sort_and_filter_by_demand(make, db):
    agent = make.user(role="agent")
    category = make.category()
    loud = exchange.create_idea(make.user(), category, "Offline mode on mobile", "Work without a signal.")
    for _ in range(4):
        exchange.set_vote(make.user(), loud, 1)           # 5 votes, 5 customers, no contacts
    quiet = exchange.create_idea(make.user(), category, "Single sign-on with Okta", "Our IT requires SSO.")
    for n in range(6):                                      # 1 vote, 7 customers, 6 contacts
        links.link_ticket(agent, quiet, _ticket(db, f"SSO request {n}", requester=make.user()))
    db.session.commit()
    by_votes = db.session.execute(lists.ideas(sort="top")).scalars().all()
    by_demand = db.session.execute(lists.ideas(sort="demand")).scalars().all()
    assert [i.id for i in by_votes] == [loud.id, quiet.id]
    assert [i.id for i in by_demand] == [quiet.id, loud.id]
    assert demand.demand_map([loud.id, quiet.id]) == {
        loud.id: {"votes": 5, "customers": 5, "threads": 0, "tickets": 0, "contacts_90d": 0, "demand": 5},
        quiet.id: {"votes": 1, "customers": 7, "threads": 0, "tickets": 6, "contacts_90d": 6, "demand": 13}}
    only = db.session.execute(lists.ideas(sort="top", min_demand=6)).scalars().all()
    assert [i.id for i in only] == [quiet.id]


def test_csv_carries_the_demand_columns(make, db):
    idea, _ = worked_example(make, db)
    rows = list(csv.reader(io.StringIO(lists.export_csv(sort="demand"))))
    header = rows[0]
    row = dict(zip(header, rows[1]))
    assert header[6:11] == ["customers", "threads", "tickets", "contacts_90d", "demand"]
    assert (row["id"], row["votes"], row["customers"], row["threads"], row["tickets"], row["contacts_90d"],
            row["demand"]) == (str(idea.id), "4", "5", "2", "3", "3", "8")


def test_api_detail_and_list_carry_demand(client, make, db):
    idea, _ = worked_example(make, db)
    detail = client.get(f"/api/v1/ideas/{idea.id}").json
    assert detail["demand"] == {"votes": 4, "customers": 5, "threads": 2, "tickets": 3, "contacts_90d": 3,
                                "demand": 8}
    listed = client.get("/api/v1/ideas?sort=demand&min_demand=8").json
    assert [i["id"] for i in listed["ideas"]] == [idea.id] and listed["ideas"][0]["demand"]["customers"] == 5
    assert client.get("/api/v1/ideas?min_demand=9").json["total"] == 0
    assert client.get("/api/v1/ideas?min_demand=-1").status_code == 400


def test_product_view_shows_demand(client, make, db, login):
    worked_example(make, db)
    login(make.user(role="product"))
    page = client.get("/ideas/product?sort=demand").data.decode()
    assert "Customers" in page and "Contacts 90d" in page and "<strong>8</strong>" in page
