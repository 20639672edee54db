"""Idea API: every endpoint, its errors and the role matrix; the OpenAPI document."""
from __future__ import annotations

import csv
import io

import pytest

from community.services.ideas import exchange

ROLES = ["anonymous", "member", "moderator", "agent", "product", "admin"]


def new_idea(make, db, author=None, title=None, category=None):
    make.n += 1
    idea = exchange.create_idea(author or make.user(), category or make.category(),
                             title or f"Calendar integration idea {make.n}",
                             "Sync due dates with Google and Outlook calendars.", ["calendar"])
    db.session.commit()
    return idea


@pytest.fixture()
def headers_for(make, token_for):
    def build(role):
        if role == "anonymous":
            return {}
        return token_for(make.user(role=role))
    return build


def test_create_get_list(client, make, db, token_for):
    category = make.category()
    headers = token_for(make.user())
    resp = client.post("/api/v1/ideas", headers=headers, json={
        "category_id": category.id, "title": "Recurring tasks every weekday",
        "body": "Let tasks repeat on weekdays only, skipping weekends.", "tags": ["tasks"]})
    assert resp.status_code == 201
    data = resp.json
    assert data["votes"] == 1 and data["status"] == "new" and data["voted"] is True
    assert data["tags"] == ["tasks"] and data["responses"] == [] and data["category"]["id"] == category.id
    got = client.get(f"/api/v1/ideas/{data['id']}").json
    assert got["title"] == "Recurring tasks every weekday" and got["voted"] is False
    listing = client.get("/api/v1/ideas?sort=new&limit=5").json
    assert listing["total"] == 1 and listing["ideas"][0]["id"] == data["id"] and "body" not in listing["ideas"][0]


@pytest.mark.parametrize("body,field", [
    ({"title": "Recurring tasks every weekday", "body": "x" * 30}, "category_id"),
    ({"category_id": "1", "title": "Recurring tasks every weekday", "body": "x" * 30}, "category_id"),
    ({"category_id": 999, "title": "Recurring tasks every weekday", "body": "x" * 30}, "category_id"),
    ({"category_id": 1, "title": "short", "body": "x" * 30}, "title"),
    ({"category_id": 1, "title": "Recurring tasks every weekday", "body": "tiny"}, "body"),
    ({"category_id": 1, "title": "Recurring tasks every weekday", "body": "x" * 30, "tags": [1]}, "tags"),
])
def test_create_validation(client, make, token_for, body, field):
    make.category()
    resp = client.post("/api/v1/ideas", headers=token_for(make.user()), json=body)
    assert resp.status_code == 400 and resp.json["error"]["field"] == field


def test_list_parameters(client, make, db):
    product = make.user(role="product")
    a, b = new_idea(make, db), new_idea(make, db)
    exchange.set_vote(make.user(), b, 1)
    exchange.change_status(product, a, "planned", "Planned for the next release.")
    db.session.commit()
    assert [i["id"] for i in client.get("/api/v1/ideas").json["ideas"]] == [b.id, a.id]
    assert [i["id"] for i in client.get("/api/v1/ideas?status=planned").json["ideas"]] == [a.id]
    planned = client.get("/api/v1/ideas?status=planned").json["ideas"][0]
    assert planned["latest_response"]["response"] == "Planned for the next release."
    assert [i["id"] for i in client.get(f"/api/v1/ideas?category={a.category_id}").json["ideas"]] == [a.id]
    page = client.get("/api/v1/ideas?limit=1&offset=1").json
    assert page["total"] == 2 and [i["id"] for i in page["ideas"]] == [a.id]
    trending = client.get("/api/v1/ideas?sort=trending").json["ideas"]
    assert [i["id"] for i in trending] == [b.id, a.id]
    assert trending[0]["trending"] == pytest.approx(2.0, abs=0.01)   # two votes cast just now
    for query, field in [("sort=hot", "sort"), ("status=open", "status"), ("category=x", "category"),
                         ("limit=0", "limit"), ("limit=500", "limit"), ("offset=-1", "offset")]:
        resp = client.get(f"/api/v1/ideas?{query}")
        assert resp.status_code == 400 and resp.json["error"]["field"] == field, query


def test_vote_sets_and_errors(client, make, db, token_for):
    idea = new_idea(make, db)
    headers = token_for(make.user())
    url = f"/api/v1/ideas/{idea.id}/vote"
    assert client.post(url, headers=headers, json={"value": 1}).json == {"idea_id": idea.id, "votes": 2, "vote": 1}
    assert client.post(url, headers=headers, json={"value": 1}).json["votes"] == 2   # sets, not toggles
    assert client.post(url, headers=headers, json={"value": 0}).json["votes"] == 1
    for bad in ({"value": 2}, {"value": -1}, {"value": True}, {"value": "1"}, {}):
        resp = client.post(url, headers=headers, json=bad)
        assert resp.status_code == 400 and resp.json["error"]["field"] == "value"
    assert client.post("/api/v1/ideas/999/vote", headers=headers, json={"value": 1}).status_code == 404
    assert client.post(url, json={"value": 1}).status_code == 401


def test_status_and_history(client, make, db, token_for):
    idea = new_idea(make, db)
    headers = token_for(make.user(role="product"))
    url = f"/api/v1/ideas/{idea.id}/status"
    resp = client.post(url, headers=headers, json={"status": "under_review", "response": "Looking into it now."})
    assert resp.status_code == 200 and resp.json["status"] == "under_review"
    client.post(url, headers=headers, json={"status": "planned", "response": "Planned for **Q3**."})
    data = client.get(f"/api/v1/ideas/{idea.id}").json
    assert [(r["old_status"], r["new_status"]) for r in data["responses"]] == [
        ("new", "under_review"), ("under_review", "planned")]
    assert data["responses"][1]["response_html"] == "<p>Planned for <strong>Q3</strong>.</p>"
    assert data["latest_response"]["response"] == "Planned for **Q3**."
    for body, code, field in [({"status": "planned"}, 400, "response"),
                              ({"status": "shipped", "response": "Shipped it today."}, 400, "status"),
                              ({"status": "duplicate", "response": "Duplicate of another."}, 400, "status"),
                              ({"status": "new", "response": "Back to the start."}, 409, "status")]:
        resp = client.post(url, headers=headers, json=body)
        assert resp.status_code == code and resp.json["error"]["field"] == field, body


def test_merge_errors(client, make, db, token_for):
    a, b, c = new_idea(make, db), new_idea(make, db), new_idea(make, db)
    headers = token_for(make.user(role="moderator"))
    resp = client.post(f"/api/v1/ideas/{a.id}/merge", headers=headers, json={"into": b.id})
    assert resp.status_code == 200 and resp.json["id"] == b.id and resp.json["votes"] == 2
    resp = client.post(f"/api/v1/ideas/{a.id}/merge", headers=headers, json={"into": c.id})
    assert resp.status_code == 409                       # a is already merged
    resp = client.post(f"/api/v1/ideas/{c.id}/merge", headers=headers, json={"into": a.id})
    assert resp.status_code == 409 and f"#{b.id}" in resp.json["error"]["message"]
    resp = client.post(f"/api/v1/ideas/{c.id}/merge", headers=headers, json={"into": c.id})
    assert resp.status_code == 400 and resp.json["error"]["field"] == "into"
    resp = client.post(f"/api/v1/ideas/{c.id}/merge", headers=headers, json={"into": 999})
    assert resp.status_code == 400 and resp.json["error"]["field"] == "into"
    resp = client.post(f"/api/v1/ideas/{c.id}/merge", headers=headers, json={"into": "b"})
    assert resp.status_code == 400 and resp.json["error"]["field"] == "into"
    assert client.post("/api/v1/ideas/999/merge", headers=headers, json={"into": b.id}).status_code == 404
    # votes on a merged idea conflict
    voter = token_for(make.user())
    assert client.post(f"/api/v1/ideas/{a.id}/vote", headers=voter, json={"value": 1}).status_code == 409


def test_merge_chain_over_api(client, make, db, token_for):
    a, b, c = new_idea(make, db), new_idea(make, db), new_idea(make, db)
    voters = [token_for(make.user()) for _ in range(4)]
    for h in voters:
        client.post(f"/api/v1/ideas/{a.id}/vote", headers=h, json={"value": 1})
    for h in voters[:2]:
        client.post(f"/api/v1/ideas/{b.id}/vote", headers=h, json={"value": 1})
        client.post(f"/api/v1/ideas/{c.id}/vote", headers=h, json={"value": 1})
    product = token_for(make.user(role="product"))
    assert client.post(f"/api/v1/ideas/{a.id}/merge", headers=product, json={"into": b.id}).json["votes"] == 6
    # c: its author + 2 voters; gains b's author, a's author and the 2 voters only on a → 7
    assert client.post(f"/api/v1/ideas/{b.id}/merge", headers=product, json={"into": c.id}).json["votes"] == 7
    assert client.get(f"/api/v1/ideas/{a.id}").json["merged_into"] == b.id


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(role, client, make, db, headers_for):
    category = make.category()
    idea, other = new_idea(make, db, category=category), new_idea(make, db, category=category)
    h = headers_for(role)
    expected = {
        "list": 200, "get": 200,
        "create": 401 if role == "anonymous" else 201,
        "vote": 401 if role == "anonymous" else 200,
        "status": {"anonymous": 401, "product": 200, "admin": 200}.get(role, 403),
        "merge": {"anonymous": 401, "product": 200, "moderator": 200, "admin": 200}.get(role, 403),
        "export": {"anonymous": 401, "product": 200, "admin": 200}.get(role, 403),
    }
    got = {
        "list": client.get("/api/v1/ideas", headers=h).status_code,
        "get": client.get(f"/api/v1/ideas/{idea.id}", headers=h).status_code,
        "create": client.post("/api/v1/ideas", headers=h, json={
            "category_id": category.id, "title": "A brand new idea title", "body": "With a long enough body text."}).status_code,
        "vote": client.post(f"/api/v1/ideas/{idea.id}/vote", headers=h, json={"value": 1}).status_code,
        "status": client.post(f"/api/v1/ideas/{idea.id}/status", headers=h,
                              json={"status": "planned", "response": "Planned for spring."}).status_code,
        "export": client.get("/api/v1/ideas/export.csv", headers=h).status_code,
        "merge": client.post(f"/api/v1/ideas/{other.id}/merge", headers=h, json={"into": idea.id}).status_code,
    }
    assert got == expected


def test_export_csv(client, make, db, token_for):
    product = make.user(role="product")
    cat = make.category("Mobile App")
    a = new_idea(make, db, category=cat, title="Widgets for the home screen")
    b = new_idea(make, db, title="Another product's idea here")
    exchange.set_vote(make.user(), b, 1)
    exchange.set_vote(make.user(), b, 1)
    exchange.change_status(product, a, "planned", "Planned for the next app update.")
    db.session.commit()
    resp = client.get("/api/v1/ideas/export.csv", headers=token_for(product))
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.data.decode())))
    assert rows[0] == ["id", "title", "category", "status", "votes", "votes_30d", "customers", "threads", "tickets",
                       "contacts_90d", "demand", "created", "url"]
    assert [r[0] for r in rows[1:]] == [str(b.id), str(a.id)]
    assert rows[2][1:6] == ["Widgets for the home screen", "Mobile App", "planned", "1", "1"]
    assert rows[2][6:11] == ["1", "0", "0", "0", "1"]   # the author is the one customer
    assert rows[2][12] == f"http://localhost/ideas/{a.id}/{a.slug}"
    planned = list(csv.reader(io.StringIO(client.get("/api/v1/ideas/export.csv?status=planned",
                                                     headers=token_for(product)).data.decode())))
    assert [r[0] for r in planned[1:]] == [str(a.id)]
    by_cat = client.get(f"/api/v1/ideas/export.csv?category={cat.id}", headers=token_for(product)).data.decode()
    assert len(by_cat.strip().splitlines()) == 2
    bad = client.get("/api/v1/ideas/export.csv?status=nope", headers=token_for(product))
    assert bad.status_code == 400 and bad.json["error"]["field"] == "status"


def test_openapi_documents_every_idea_endpoint(client):
    doc = client.get("/api/v1/openapi.json").json
    paths = doc["paths"]
    assert set(paths["/api/v1/ideas"]) == {"get", "post"}
    assert "get" in paths["/api/v1/ideas/{idea_id}"]
    for action in ("vote", "status", "merge"):
        assert "post" in paths[f"/api/v1/ideas/{{idea_id}}/{action}"]
    export = paths["/api/v1/ideas/export.csv"]["get"]
    assert "text/csv" in export["responses"]["200"]["content"]
    assert "403" in paths["/api/v1/ideas/{idea_id}/status"]["post"]["responses"]
    assert "409" in paths["/api/v1/ideas/{idea_id}/merge"]["post"]["responses"]
    assert "Idea" in doc["components"]["schemas"]


def test_openapi_documents_links_demand_and_the_demand_sort(client):
    """Issue 20's API as the document states it: links (201, and 200 when already linked), unlink
    (204/404), the detail's ``links``/``demand``, ``sort=demand`` and ``min_demand``."""
    doc = client.get("/api/v1/openapi.json").json
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    create = paths["/api/v1/ideas/{idea_id}/links"]["post"]
    assert {"200", "201", "400", "403", "404", "409"} <= set(create["responses"])
    assert set(create["requestBody"]["content"]["application/json"]["schema"]["properties"]) == {"thread_id",
                                                                                                 "ticket_id"}
    assert {"204", "404"} <= set(paths["/api/v1/ideas/{idea_id}/links/{link_id}"]["delete"]["responses"])
    assert set(schemas["IdeaDemand"]["properties"]) == {"votes", "customers", "threads", "tickets",
                                                        "contacts_90d", "demand"}
    assert {"links", "links_hidden", "demand", "votes_left"} <= set(schemas["Idea"]["properties"])
    params = {p["name"]: p for p in paths["/api/v1/ideas"]["get"]["parameters"]}
    assert "demand" in params["sort"]["schema"]["enum"] and "min_demand" in params
