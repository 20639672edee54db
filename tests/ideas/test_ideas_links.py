"""Links from threads and tickets to ideas: who may link (API and pages), what each viewer sees,
uniqueness under repetition, the offers made while escalating, solving and merging."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from community.models import IdeaLink, SearchEvidence
from community.services.ideas import exchange, links, merging
from community.services.tickets import escalation, workflow

ROLES = ["anonymous", "member", "moderator", "agent", "product", "admin"]
LINKERS = {"moderator", "agent", "product", "admin"}


@pytest.fixture()
def world(make, db):
    """An idea; a public thread by one customer; a support ticket by another customer."""
    customer = make.user("customer")
    other = make.user("other")
    category = make.category("Mobile App")
    idea = exchange.create_idea(make.user("proposer"), category, "Offline mode for the mobile app",
                                "Read and edit notes without a connection.")
    thread = make.thread(author=customer, category=category, title="Can I use the app on a plane offline?")
    ticket = workflow.open_ticket(source="contact", subject="Secret: offline access for ACME Corp",
                                  body="We need offline access for our field staff.", requester=other)
    db.session.commit()
    return {"idea": idea, "thread": thread, "ticket": ticket, "customer": customer, "other": other}


def _headers(role, make, token_for):
    return {} if role == "anonymous" else token_for(make.user(role=role))


@pytest.mark.parametrize("role", ROLES)
def test_api_link_permission_matrix(role, world, make, client, token_for, db):
    h = _headers(role, make, token_for)
    idea = world["idea"]
    created = client.post(f"/api/v1/ideas/{idea.id}/links", headers=h, json={"thread_id": world["thread"].id})
    expected = 201 if role in LINKERS else (401 if role == "anonymous" else 403)
    assert created.status_code == expected
    ticket = client.post(f"/api/v1/ideas/{idea.id}/links", headers=h, json={"ticket_id": world["ticket"].id})
    assert ticket.status_code == expected
    if role in LINKERS:
        assert created.json["kind"] == "thread" and created.json["title"] == world["thread"].title
        again = client.post(f"/api/v1/ideas/{idea.id}/links", headers=h, json={"thread_id": world["thread"].id})
        assert again.status_code == 200 and again.json["id"] == created.json["id"]
        gone = client.delete(f"/api/v1/ideas/{idea.id}/links/{created.json['id']}", headers=h)
        assert gone.status_code == 204
        assert client.delete(f"/api/v1/ideas/{idea.id}/links/{created.json['id']}", headers=h).status_code == 404
    else:
        link, _ = links.link_thread(make.user(role="agent"), idea, world["thread"])
        db.session.commit()
        refused = client.delete(f"/api/v1/ideas/{idea.id}/links/{link.id}", headers=h)
        assert refused.status_code == expected
    assert db.session.execute(select(func.count()).select_from(IdeaLink)
                              .where(IdeaLink.ticket_id.is_not(None))).scalar_one() == (1 if role in LINKERS else 0)


def test_api_link_errors(world, make, client, token_for):
    h = token_for(make.user(role="agent"))
    url = f"/api/v1/ideas/{world['idea'].id}/links"
    assert client.post(url, headers=h, json={}).status_code == 400
    both = client.post(url, headers=h, json={"thread_id": world["thread"].id, "ticket_id": world["ticket"].id})
    assert both.status_code == 400 and both.json["error"]["code"] == "validation_error"
    assert client.post(url, headers=h, json={"thread_id": "7"}).json["error"]["field"] == "thread_id"
    assert client.post(url, headers=h, json={"thread_id": 99999}).status_code == 404
    assert client.post(url, headers=h, json={"ticket_id": 99999}).status_code == 404
    assert client.post("/api/v1/ideas/99999/links", headers=h, json={"thread_id": world["thread"].id}).status_code == 404
    assert client.post(url, headers=h, data="not json", content_type="text/plain").status_code == 400


def test_linking_a_merged_idea_points_to_its_target(world, make, db, client, token_for):
    product = make.user(role="product")
    target = exchange.create_idea(make.user(), world["idea"].category, "Offline notes everywhere",
                                  "Everything available offline.")
    merging.merge(product, world["idea"], target)
    db.session.commit()
    resp = client.post(f"/api/v1/ideas/{world['idea'].id}/links", headers=token_for(product),
                       json={"thread_id": world["thread"].id})
    assert resp.status_code == 409 and f"#{target.id}" in resp.json["error"]["message"]


@pytest.mark.parametrize("viewer", ["anonymous", "customer", "other", "member", "moderator", "agent", "product"])
def test_each_viewer_sees_what_they_may(viewer, world, make, db, client, token_for):
    agent = make.user(role="agent")
    links.link_thread(agent, world["idea"], world["thread"])
    links.link_ticket(agent, world["idea"], world["ticket"])
    db.session.commit()
    if viewer in ("customer", "other"):
        user = world[viewer]
    elif viewer != "anonymous":
        user = make.user(role=viewer)
    h = {} if viewer == "anonymous" else token_for(user)
    data = client.get(f"/api/v1/ideas/{world['idea'].id}", headers=h).json
    titles = {item["title"] for item in data["links"]}
    secret = world["ticket"].subject
    sees_ticket = viewer in ("other", "moderator", "agent", "product")   # its requester, staff, product team
    assert world["thread"].title in titles
    assert (secret in titles) is sees_ticket
    assert data["links_hidden"] == (0 if sees_ticket else 1)
    assert data["demand"]["tickets"] == 1     # everyone sees the figure, not the ticket
    # The page says the same.
    if viewer != "anonymous":
        client.post("/logout")
        client.post("/login", data={"login": user.username, "password": "password123"})
    page = client.get(f"/ideas/{world['idea'].id}/{world['idea'].slug}").data.decode()
    assert world["thread"].title in page
    assert (secret in page) is sees_ticket


@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
def test_the_same_link_at_once_is_created_once(world, make, db, app):
    """Ten links of the same thread in ten sessions: one row, every call answered with it, and
    one search vote for the thread, written without an error or a warning (each call replaces
    the idea's votes: ORM deletes of the same row at once warned "0 were matched")."""
    agent = make.user(role="agent")
    idea_id, thread_id, agent_id = world["idea"].id, world["thread"].id, agent.id

    def link_once(_):
        with app.app_context():
            from community.extensions import db as _db
            from community.models import Idea, Thread, User

            link, created = links.link_thread(_db.session.get(User, agent_id), _db.session.get(Idea, idea_id),
                                              _db.session.get(Thread, thread_id))
            _db.session.commit()
            result = (link.id, created)
            _db.session.remove()
            return result

    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(link_once, range(10)))
    assert len({link_id for link_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert db.session.execute(select(func.count()).select_from(IdeaLink)).scalar_one() == 1
    votes = db.session.execute(select(SearchEvidence.thread_id, SearchEvidence.voter, SearchEvidence.words)).all()
    assert votes == [(thread_id, f"idea:{idea_id}", "Offline mode for the mobile app")]


def test_page_forms_link_and_unlink(world, make, db, client, login):
    agent = make.user(role="agent")
    login(agent)
    idea = world["idea"]
    resp = client.post(f"/ideas/{idea.id}/links", data={"kind": "thread", "target": f"/threads/{world['thread'].id}/x"})
    assert resp.status_code == 302
    link = db.session.execute(select(IdeaLink)).scalar_one()
    assert link.thread_id == world["thread"].id and link.created_by_id == agent.id
    bad = client.post(f"/ideas/{idea.id}/links", data={"kind": "ticket", "target": "no number"}, follow_redirects=True)
    assert "Give the number" in bad.data.decode()
    client.post(f"/ideas/{idea.id}/links/{link.id}/delete")
    assert db.session.execute(select(func.count()).select_from(IdeaLink)).scalar_one() == 0
    # From the thread page and the ticket page.
    client.post(f"/threads/{world['thread'].id}/idea-link", data={"idea": f"#{idea.id}"})
    client.post(f"/tickets/{world['ticket'].id}/idea-link", data={"idea": str(idea.id)})
    assert db.session.execute(select(func.count()).select_from(IdeaLink)).scalar_one() == 2
    thread_page = client.get(f"/threads/{world['thread'].id}/{world['thread'].slug}").data.decode()
    assert "Feature request:" in thread_page and idea.title in thread_page


@pytest.mark.parametrize("role", ["member", "anonymous"])
def test_members_cannot_link_through_pages(role, world, make, db, client, login):
    if role == "member":
        login(world["customer"])
    idea = world["idea"]
    for url, data in ((f"/ideas/{idea.id}/links", {"kind": "thread", "target": str(world["thread"].id)}),
                      (f"/threads/{world['thread'].id}/idea-link", {"idea": str(idea.id)}),
                      (f"/tickets/{world['ticket'].id}/idea-link", {"idea": str(idea.id)})):
        resp = client.post(url, data=data)
        assert resp.status_code == (403 if role == "member" else 302)
    assert db.session.execute(select(func.count()).select_from(IdeaLink)).scalar_one() == 0
    page = client.get(f"/threads/{world['thread'].id}/{world['thread'].slug}").data.decode()
    assert "Link to an idea" not in page


def test_escalating_and_solving_offer_the_link(world, make, db, client, login):
    moderator, agent = make.user(role="moderator"), make.user(role="agent")
    idea = world["idea"]
    login(moderator)
    client.post(f"/threads/{world['thread'].id}/escalate", data={"priority": "normal", "idea": f"#{idea.id}"})
    ticket = escalation.active_ticket(world["thread"].id)
    assert ticket is not None
    rows = db.session.execute(select(IdeaLink.thread_id, IdeaLink.ticket_id, IdeaLink.source)).all()
    assert sorted(rows, key=str) == sorted([(world["thread"].id, None, "escalation"),
                                            (None, ticket.id, "escalation")], key=str)
    login(agent)
    client.post(f"/tickets/{world['ticket'].id}/update", data={"status": "solved", "idea": str(idea.id)})
    solved = db.session.execute(select(IdeaLink).where(IdeaLink.ticket_id == world["ticket"].id)).scalar_one()
    assert solved.source == "ticket_solved" and db.session.get(type(world["ticket"]), world["ticket"].id).status == "solved"
    # A bad idea number rolls the whole change back, with the error shown.
    other = workflow.open_ticket(source="contact", subject="Another one", body="x", requester=world["customer"])
    db.session.commit()
    resp = client.post(f"/tickets/{other.id}/update", data={"status": "solved", "idea": "#99999"})
    assert resp.status_code == 400 and "There is no idea #99999" in resp.data.decode()
    assert db.session.get(type(other), other.id).status == "open"


def test_merging_moves_links_each_once(world, make, db):
    agent, product = make.user(role="agent"), make.user(role="product")
    target = exchange.create_idea(make.user(), world["idea"].category, "Offline notes everywhere",
                                  "Everything available offline.")
    links.link_thread(agent, world["idea"], world["thread"])
    links.link_ticket(agent, world["idea"], world["ticket"])
    links.link_thread(agent, target, world["thread"])            # already on the target
    merging.merge(product, world["idea"], target)
    db.session.commit()
    rows = db.session.execute(select(IdeaLink.idea_id, IdeaLink.thread_id, IdeaLink.ticket_id)).all()
    assert sorted(rows, key=str) == sorted([(target.id, world["thread"].id, None),
                                            (target.id, None, world["ticket"].id)], key=str)


def test_ticket_page_and_idea_form_suggest_ideas(world, make, db, client, login):
    agent = make.user(role="agent")
    login(agent)
    ticket = workflow.open_ticket(source="contact", subject="Offline mode in the mobile app?",
                                  body="Does the app work without signal?", requester=world["customer"])
    db.session.commit()
    page = client.get(f"/tickets/{ticket.id}").data.decode()
    assert "Ideas this may be asking for" in page and world["idea"].title in page
    form = client.get(f"/ideas/new?thread={world['thread'].id}").data.decode()
    assert world["thread"].title in form   # prefilled from the thread
    new = client.post("/ideas/new", data={"thread": world["thread"].id, "title": "Offline maps for planes and trains",
                                          "body": "Download maps ahead so they work on a plane.",
                                          "category_id": world["idea"].category_id, "tags": ""})
    assert new.status_code == 302
    link = db.session.execute(select(IdeaLink).where(IdeaLink.thread_id == world["thread"].id)).scalar_one()
    assert link.source == "idea_form" and link.idea_id != world["idea"].id


def test_ideas_offered_share_enough_of_the_text(world, make, db, app):
    """The staff panel offers an idea only when it shares two of the text's significant words
    (one when the text has one), one of them in its title, a one-letter typo allowed: a ticket
    about old company names on invoices is not asking for folder sizes, though the engine ranks
    it by "show"."""
    category = world["idea"].category
    storage = exchange.create_idea(make.user(), category, "Show storage used per folder",
                                   "Our team wants to see which folders are big.")
    invoices = exchange.create_idea(make.user(), category, "Export invoices for a whole year as one ZIP",
                                    "Accounting asks for every invoice each January.")
    db.session.commit()
    from community import search
    search.apply_pending()

    def offered(text):
        with app.test_request_context():
            return [r["title"] for r in links.suggest_for_text(text)]

    assert offered("Invoices show our old company name") == []
    assert offered("Show me the storage per folder") == [storage.title]
    assert offered("export every invoice") == [invoices.title]
    assert offered("invoce") == [invoices.title]                 # one significant word, a typo
    assert offered("Offline mode on the mobile app?") == [world["idea"].title]
    assert offered("Ofline mode please") == [world["idea"].title]   # "ofline": one edit
    assert offered("storage") == [storage.title]
    assert offered("Is my team too big?") == []   # "team" and "big" only in its description
    assert offered("") == []


def test_deleted_hidden_and_merged_threads(world, make, db, client, token_for):
    """A deleted thread is refused (400, nothing linked); a hidden one is linked, counted, and its
    title shown to staff only; a thread merged into another links that one (and again: 200)."""
    from community.services.moderation import actions, merging as thread_merging

    moderator = make.user(role="moderator")
    h, idea = token_for(make.user(role="agent")), world["idea"]
    url = f"/api/v1/ideas/{idea.id}/links"
    gone = make.thread(author=world["other"], title="Offline mode deleted question here")
    gone.deleted = True
    hidden = make.thread(author=world["other"], title="Offline mode hidden question here")
    actions.hide_thread(moderator, hidden, "Off topic for this category")
    merged = make.thread(author=world["other"], title="Offline mode duplicate question")
    thread_merging.merge(moderator, merged, world["thread"].id)
    db.session.commit()
    refused = client.post(url, headers=h, json={"thread_id": gone.id})
    assert refused.status_code == 400 and refused.json["error"]["field"] == "thread_id"
    assert client.post(url, headers=h, json={"thread_id": hidden.id}).status_code == 201
    moved = client.post(url, headers=h, json={"thread_id": merged.id})
    assert moved.status_code == 201 and moved.json["thread_id"] == world["thread"].id
    assert moved.json["title"] == world["thread"].title
    again = client.post(url, headers=h, json={"thread_id": world["thread"].id})
    assert again.status_code == 200 and again.json["id"] == moved.json["id"]
    assert sorted(db.session.execute(select(IdeaLink.thread_id)).scalars()) == sorted([hidden.id, world["thread"].id])
    member = client.get(f"/api/v1/ideas/{idea.id}", headers=token_for(world["customer"])).json
    assert [link["title"] for link in member["links"]] == [world["thread"].title]
    assert member["links_hidden"] == 1 and member["demand"]["threads"] == 2
    staff = client.get(f"/api/v1/ideas/{idea.id}", headers=token_for(moderator)).json
    assert {link["title"] for link in staff["links"]} == {world["thread"].title, hidden.title}
