"""The Ask / Contact suggestion flow, the thread prompt, the suggest and metrics APIs, analytics."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from community.models import AskEvent, AskSession, Thread, Ticket
from community.services.forum import accepting

UA = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"}


@pytest.fixture()
def solved(make, db):
    thread = make.thread(title="How do I reset my password on the mobile app?",
                         body="The reset link in the app does nothing when I tap it.")
    answer = make.reply(thread, body="Use the web page: Settings, Security, Reset password. The app link is broken.")
    accepting.accept(thread.author, thread, answer)
    db.session.commit()
    return thread


def session_of(html: str) -> str:
    return re.search(r'data-ask-session="(\w*)"', html).group(1)


def events(db, session_id, kind=None):
    stmt = select(AskEvent).where(AskEvent.session_id == session_id).order_by(AskEvent.id)
    if kind:
        stmt = stmt.where(AskEvent.kind == kind)
    return db.session.execute(stmt).scalars().all()


# -- sessions on the pages ------------------------------------------------------------------

def test_anonymous_visitor_opens_ask_with_a_session_and_cookie(client, db):
    page = client.get("/ask", headers=UA)
    assert page.status_code == 200
    html = page.data.decode()
    sid = session_of(html)
    assert len(sid) == 32 and 'data-arm="suggestions"' in html
    assert "community_visitor=" in page.headers["Set-Cookie"]
    again = client.get("/support/contact", headers=UA).data.decode()
    assert session_of(again) == sid  # one session across both pages within 30 minutes
    assert db.session.get(AskSession, sid).user_id is None


def test_bots_see_the_page_but_get_no_session(client, db):
    page = client.get("/ask", headers={"User-Agent": "Googlebot/2.1"})
    assert page.status_code == 200 and session_of(page.data.decode()) == ""
    assert db.session.execute(select(AskSession)).first() is None


def test_holdout_session_sees_no_suggestions(app, client, solved):
    app.config["DEFLECTION_HOLDOUT"] = 1
    html = client.get("/ask?title=reset+password+mobile", headers=UA).data.decode()
    assert 'data-arm="holdout"' in html and "data-suggestions" not in html
    sid = session_of(html)
    body = client.get(f"/api/v1/suggest?q=reset+password&session={sid}", headers=UA).get_json()
    assert body == {"results": [], "holdout": True}


# -- suggest API --------------------------------------------------------------------------------

def test_suggest_returns_solved_threads_with_the_accepted_answer(client, solved):
    body = client.get("/api/v1/suggest?q=reset+my+password", headers=UA).get_json()
    first = body["results"][0]
    assert set(first) == {"type", "id", "title", "url", "solved", "snippet", "score"}
    assert first["id"] == solved.id and first["solved"] is True and "Security" in first["snippet"]


@pytest.mark.parametrize("q", ["", " ", "a", '"unbalanced', "title:(foo", "[*?]", "AND OR NOT",
                               "ünïcødé 日本語 🙂", "x" * 20000, "\x01", "%", "-", "reset AND"])
def test_suggest_never_errors(client, solved, q):
    response = client.get("/api/v1/suggest", query_string={"q": q}, headers=UA)
    assert response.status_code == 200
    assert isinstance(response.get_json()["results"], list)


def test_suggest_with_a_nul_is_a_json_400(client, solved):
    """A NUL in any parameter is refused by ``request_guards`` (and is no "no result" either)."""
    response = client.get("/api/v1/suggest", query_string={"q": "\x00\x01"}, headers=UA)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"


def test_suggest_records_once_per_distinct_query_and_only_for_the_owner(client, app, db, solved):
    sid = session_of(client.get("/ask", headers=UA).data.decode())
    for q in ("reset password", "Reset  password", "reset password!", "reset password app"):
        client.get("/api/v1/suggest", query_string={"q": q, "session": sid}, headers=UA)
    shown = events(db, sid, "suggestions_shown")
    assert [e.normalized_query for e in shown] == ["reset password", "reset password app"]
    assert shown[0].result_ids == [f"thread:{solved.id}"] and shown[0].result_count == 1
    stranger = app.test_client()
    stranger.get("/api/v1/suggest", query_string={"q": "another query", "session": sid}, headers=UA)
    assert len(events(db, sid, "suggestions_shown")) == 2


@pytest.fixture()
def limited_client(tmp_path):
    """An app of its own with rate limits on (the limiter is set up when the app is created)."""
    from community import create_app
    from community.extensions import db as _db

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "limited"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'limited.db'}",
                      "SEARCH_INDEX_DIR": str(tmp_path / "limited-index"), "SECRET_KEY": "t",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": True,
                      "SUGGEST_RATE_LIMIT": "3 per minute", "CONTACT_RATE_LIMIT": "2 per minute"})
    with app.app_context():
        _db.create_all()
        yield app.test_client()
        _db.session.remove()
        _db.drop_all()


def test_suggest_is_rate_limited(limited_client):
    client = limited_client
    codes = [client.get("/api/v1/suggest?q=reset", headers=UA).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/api/v1/suggest?q=reset", headers=UA).get_json()["error"]["code"] == "rate_limited"


def test_suggest_is_documented_public(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/suggest"]["get"]
    assert {} in op["security"]
    assert "/api/v1/metrics/deflection" in doc["paths"]


# -- the Ask page -------------------------------------------------------------------------------

def test_ask_without_javascript_shows_matches_first_then_posts(client, login, make, db, solved):
    member = make.user()
    login(member)
    sid = session_of(client.get("/ask", headers=UA).data.decode())
    form = {"title": "Reset password on mobile app fails", "body": "The link in the app does nothing at all.",
            "category_id": solved.category_id, "tags": "", "ask_session": sid}
    first = client.post("/ask", data=form, headers=UA)
    html = first.data.decode()
    assert first.status_code == 200 and "Before you post" in html and solved.title in html
    assert f"/ask/open/{sid}/thread/{solved.id}" in html and 'name="post_anyway"' in html
    assert db.session.execute(select(Thread).where(Thread.title == form["title"])).first() is None
    second = client.post("/ask", data={**form, "post_anyway": "1"}, headers=UA)
    assert second.status_code == 302
    posted = events(db, sid, "question_posted")
    thread = db.session.execute(select(Thread).where(Thread.title == form["title"])).scalar_one()
    assert len(posted) == 1 and posted[0].thread_id == thread.id


def test_ask_with_javascript_posts_at_once(client, login, make, db, solved):
    login(make.user())
    sid = session_of(client.get("/ask", headers=UA).data.decode())
    response = client.post("/ask", headers=UA, data={
        "title": "Reset password on mobile app fails", "body": "The link in the app does nothing at all.",
        "category_id": solved.category_id, "ask_session": sid, "js": "1"})
    assert response.status_code == 302
    assert len(events(db, sid, "question_posted")) == 1


def test_anonymous_submit_asks_to_log_in_and_keeps_the_text(client, login, make, db, solved):
    member = make.user()
    sid = session_of(client.get("/ask", headers=UA).data.decode())
    response = client.post("/ask", headers=UA, data={
        "title": "My invoices vanished from the portal", "body": "Since Monday the invoice list is empty.",
        "ask_session": sid, "js": "1"})
    assert response.status_code == 302 and "/login" in response.location
    login(member)
    html = client.get("/ask", headers=UA).data.decode()
    assert session_of(html) == sid
    assert 'value="My invoices vanished from the portal"' in html
    assert "Since Monday the invoice list is empty." in html
    assert db.session.get(AskSession, sid).user_id == member.id


def test_invalid_post_keeps_the_session_and_shows_the_error(client, login, make, db):
    login(make.user())
    sid = session_of(client.get("/ask", headers=UA).data.decode())
    response = client.post("/ask", headers=UA, data={"title": "short", "body": "x", "ask_session": sid})
    assert response.status_code == 400 and "at least" in response.data.decode()
    assert session_of(response.data.decode()) == sid


# -- opening a suggestion, the prompt, confirming --------------------------------------------------

def test_open_confirm_and_count(client, app, db, solved, make, token_for):
    sid = session_of(client.get("/ask", headers=UA).data.decode())
    assert client.post("/ask/beacon", data={"session": sid}, headers=UA).get_json() == {"ok": True}
    client.get(f"/api/v1/suggest?q=reset+password&session={sid}", headers=UA)
    opened = client.get(f"/ask/open/{sid}/thread/{solved.id}?via=ask", headers=UA)
    assert opened.status_code == 302 and f"from_suggestion={sid}" in opened.location
    page = client.get(opened.location, headers=UA).data.decode()
    assert 'data-deflect="yes"' in page and "I still need help" in page
    assert client.get(f"/threads/{solved.id}/{solved.slug}", headers=UA).data.decode().count("data-deflect=") == 0
    confirm = client.post("/ask/confirm", data={"session": sid, "thread_id": solved.id},
                          headers={**UA, "Accept": "application/json"})
    assert confirm.get_json()["ok"] is True
    client.post("/ask/confirm", data={"session": sid, "thread_id": solved.id}, headers=UA)  # twice: once
    assert [e.kind for e in events(db, sid)] == ["suggestions_shown", "suggestion_opened", "confirmed"]
    assert "Glad this solved it" in client.get(opened.location, headers=UA).data.decode()
    staff = make.user(role="agent")
    metrics = client.get("/api/v1/metrics/deflection", headers=token_for(staff)).get_json()
    assert (metrics["sessions"], metrics["sessions_with_suggestions"], metrics["confirmed_deflections"]) == (1, 1, 1)
    assert metrics["deflection_rate"] == 1.0


def test_a_shared_link_does_not_write_into_someone_elses_session(client, app, db, solved):
    sid = session_of(client.get("/ask", headers=UA).data.decode())
    other = app.test_client()
    response = other.get(f"/ask/open/{sid}/thread/{solved.id}", headers=UA)
    assert response.status_code == 302 and "from_suggestion" not in response.location
    page = other.get(f"/threads/{solved.id}/{solved.slug}?from_suggestion={sid}", headers=UA).data.decode()
    assert "data-deflect" not in page
    assert other.post("/ask/confirm", data={"session": sid, "thread_id": solved.id},
                      headers={**UA, "Accept": "application/json"}).status_code == 404
    assert events(db, sid) == []


def test_confirm_requires_the_thread_to_have_been_opened(client, db, solved, make):
    sid = session_of(client.get("/ask", headers=UA).data.decode())
    other = make.thread(title="Something else entirely different here")
    client.get(f"/ask/open/{sid}/thread/{solved.id}", headers=UA)
    response = client.post("/ask/confirm", data={"session": sid, "thread_id": other.id},
                           headers={**UA, "Accept": "application/json"})
    assert response.status_code == 404
    assert events(db, sid, "confirmed") == []
    page = client.get(f"/threads/{other.id}/{other.slug}?from_suggestion={sid}", headers=UA).data.decode()
    assert "data-deflect" not in page  # no prompt on a thread this session did not open


def test_still_need_help_returns_to_the_form_with_the_query(client, db, solved):
    sid = session_of(client.get("/support/contact", headers=UA).data.decode())
    client.get(f"/api/v1/suggest?q=reset+my+password+please&session={sid}&type=thread", headers=UA)
    client.get(f"/ask/open/{sid}/thread/{solved.id}?via=contact", headers=UA)
    back = client.post("/ask/still-need-help", data={"session": sid, "thread_id": solved.id, "via": "contact"},
                       headers=UA)
    assert back.status_code == 302 and "/support/contact" in back.location
    html = client.get(back.location, headers=UA).data.decode()
    assert 'value="reset my password please"' in html
    assert [e.kind for e in events(db, sid)][-1] == "still_need_help"


def test_idea_links_go_where_the_server_says_and_only_existing_ideas_open(client, db, make):
    from community import urls
    from community.services.ideas.exchange import create_idea

    idea = create_idea(make.user(), make.category(), "Dark mode for the mobile app",
                       "Please add a dark theme to the mobile app for night use.")
    db.session.commit()
    sid = session_of(client.get("/ask", headers=UA).data.decode())
    shown = client.get(f"/api/v1/suggest?q=dark+mode+mobile+app&session={sid}", headers=UA).get_json()
    assert f"idea:{idea.id}" in {f"{r['type']}:{r['id']}" for r in shown["results"]}
    response = client.get(f"/ask/open/{sid}/idea/{idea.id}?to=https://evil.example/x", headers=UA)
    assert response.status_code == 302 and response.location == urls.idea_url(idea)
    response = client.get(f"/ask/open/{sid}/idea/{idea.id}?to=/%09/evil.example", headers=UA)
    assert response.status_code == 302 and response.location == urls.idea_url(idea)
    assert client.get(f"/ask/open/{sid}/idea/99999?to=/ideas/7", headers=UA).status_code == 404
    assert [e.idea_id for e in events(db, sid, "suggestion_opened")] == [idea.id, idea.id]


# -- contact support ---------------------------------------------------------------------------

def test_anonymous_contact_creates_a_ticket_with_the_session_context(client, db, solved):
    sid = session_of(client.get("/support/contact", headers=UA).data.decode())
    client.get(f"/api/v1/suggest?q=reset+password&session={sid}&type=thread", headers=UA)
    form = {"subject": "Cannot reset my password", "body": "The reset link never arrives by email.",
            "name": "Ann Lee", "email": "ann@example.com", "ask_session": sid, "js": "1"}
    bad = client.post("/support/contact", data={**form, "email": "not-an-email"}, headers=UA)
    assert bad.status_code == 400 and 'id="email-error"' in bad.data.decode()
    sent = client.post("/support/contact", data=form, headers=UA)
    assert sent.status_code == 302 and sent.location.endswith("/support/contact/sent")
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert (ticket.source, ticket.requester_id, ticket.requester_email, ticket.ask_session_id) == (
        "contact", None, "ann@example.com", sid)
    assert ticket.context["queries"] == ["reset password"]
    assert [e.ticket_id for e in events(db, sid, "support_request")] == [ticket.id]
    confirmation = client.get("/support/contact/sent", headers=UA).data.decode()
    assert f"#{ticket.id}" in confirmation
    assert session_of(client.get("/support/contact", headers=UA).data.decode()) == sid


def test_logged_in_contact_without_javascript_shows_matches_first(client, login, make, db, solved):
    member = make.user()
    login(member)
    sid = session_of(client.get("/support/contact", headers=UA).data.decode())
    form = {"subject": "reset password mobile app", "body": "It does not work for me at all.", "ask_session": sid}
    first = client.post("/support/contact", data=form, headers=UA)
    assert first.status_code == 200 and "Before you send" in first.data.decode()
    second = client.post("/support/contact", data={**form, "post_anyway": "1"}, headers=UA)
    assert second.status_code == 302
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert ticket.requester_id == member.id and ticket.requester_email == member.email


def test_contact_submissions_are_rate_limited(limited_client):
    client = limited_client
    form = {"subject": "Billing question", "body": "Why was I charged twice?", "name": "A", "email": "a@example.com",
            "js": "1"}
    codes = [client.post("/support/contact", data=form, headers=UA).status_code for _ in range(3)]
    assert codes == [302, 302, 429]


# -- metrics API and the analytics page ----------------------------------------------------------

def test_metrics_api_requires_a_staff_token(client, make, token_for):
    assert client.get("/api/v1/metrics/deflection").status_code == 401
    assert client.get("/api/v1/metrics/deflection", headers=token_for(make.user())).status_code == 403
    for role in ("moderator", "agent", "product", "admin"):
        body = client.get("/api/v1/metrics/deflection?from=2026-01-01&to=2026-01-31",
                          headers=token_for(make.user(role=role))).get_json()
        for key in ("sessions", "sessions_with_suggestions", "confirmed_deflections", "inferred_deflections",
                    "deflection_rate", "deflection_rate_with_inferred", "estimated_savings",
                    "cost_per_contact", "health", "content_gaps", "top_threads", "daily"):
            assert key in body
        assert len(body["daily"]) == 31 and body["from"] == "2026-01-01"


@pytest.mark.parametrize("query, field", [("from=2026-13-01", "from"), ("to=31/01/2026", "to"),
                                          ("from=2026-02-01&to=2026-01-01", "from"), ("from=", None)])
def test_metrics_api_rejects_bad_dates(client, make, token_for, query, field):
    response = client.get(f"/api/v1/metrics/deflection?{query}", headers=token_for(make.user(role="admin")))
    if field is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field


def test_analytics_page_roles_and_csv(client, login, make):
    assert client.get("/analytics").status_code == 302
    login(make.user())
    assert client.get("/analytics").status_code == 403
    login(make.user(role="product"))
    page = client.get("/analytics?from=2026-01-01&to=2026-01-07")
    assert page.status_code == 200 and page.data.count(b"<svg viewBox=\"0 0 ") == 7  # both arms + six charts
    bad = client.get("/analytics?from=2026-02-01&to=2026-01-01")
    assert bad.status_code == 400 and b"on or before" in bad.data
    csv = client.get("/analytics/export.csv?from=2026-01-01&to=2026-01-03")
    summary, daily, weekly, monthly = csv.data.decode().strip().split("\n\n")
    lines = daily.splitlines()
    assert weekly.splitlines()[0].startswith("weekly,sessions,sessions_with_suggestions")
    assert [line.split(",")[0] for line in weekly.splitlines()[1:]] == ["2025-12-29"]   # the ISO week's Monday
    assert [line.split(",")[0] for line in monthly.splitlines()[1:]] == ["2026-01-01"]
    assert csv.mimetype == "text/csv" and len(lines) == 4
    assert lines[0].startswith("date,sessions,sessions_with_suggestions,confirmed_deflections")
    assert lines[1].startswith("2026-01-01,0,0,0,0")
    figures = dict(line.split(",", 1) for line in summary.splitlines()[1:])
    assert figures["generated_at"].endswith("Z") and figures["sessions"] == "0"
    for key in ("inferred_pending", "estimated_savings_confirmed", "held_deflections", "failed_deflections",
                "holdout_sessions", "suggestion_sessions", "contacts_avoided_ci95_low", "savings_ci95_high",
                "health.median_time_to_first_reply_seconds", "health.p90_time_to_accepted_answer_seconds",
                "excluded_traffic.refused", "previous_period.from", "previous_period.change.held_deflections"):
        assert key in figures


def test_the_contact_page_suggests_threads_and_articles_and_the_ask_page_ideas_too(site):
    """An idea answers nobody's support request: the contact form never offers one."""
    from community.services.ideas.exchange import create_idea

    idea = create_idea(site.user(), site.category(), "Dark mode for the mobile app",
                       "Please add a dark theme to the mobile app for night use.")
    thread = site.thread("Dark mode makes the mobile app text unreadable",
                         "With dark mode on, the mobile app shows grey text on black.")
    from community.extensions import db

    db.session.commit()
    ask = site.visitor().get("/ask?title=dark+mode+mobile+app").get_data(as_text=True)
    assert f"/idea/{idea.id}" in ask and f"/thread/{thread.id}" in ask
    contact = site.visitor().get("/support/contact?subject=dark+mode+mobile+app").get_data(as_text=True)
    assert f"/thread/{thread.id}" in contact and f"/idea/{idea.id}" not in contact
    shown = db.session.execute(select(AskEvent.result_ids).where(AskEvent.kind == "suggestions_shown")
                               .order_by(AskEvent.id)).scalars().all()
    assert [sorted(ids) for ids in shown] == [sorted([f"idea:{idea.id}", f"thread:{thread.id}"]),
                                              [f"thread:{thread.id}"]]


def test_the_visitor_cookie_is_lax_and_http_only_and_the_address_is_kept_only_as_a_salted_hash(site):
    """The session stores sha256(SECRET_KEY|addr|address), never the address nor its unsalted hash."""
    import hashlib

    from community.extensions import db

    visitor = site.visitor(address="198.51.100.23")
    page = visitor.get("/ask")
    cookie = next(h for h in page.headers.getlist("Set-Cookie") if h.startswith("community_visitor="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    stored = db.session.execute(select(AskSession.address_key)).scalar_one()
    salted = hashlib.sha256(b"rules|addr|198.51.100.23").hexdigest()[:40]
    assert stored == salted
    for unsalted in (b"|addr|198.51.100.23", b"None|addr|198.51.100.23"):
        assert stored != hashlib.sha256(unsalted).hexdigest()[:40]


def test_the_visitor_cookie_is_secure_over_https_only(site):
    """Secure follows the request's scheme: a site served over HTTPS never sends the cookie in clear."""
    cookies = {}
    for scheme in ("https", "http"):
        visitor = site.visitor()
        page = visitor.client.get("/ask", base_url=f"{scheme}://localhost", headers=visitor.headers,
                                  environ_base=visitor.environ)
        cookies[scheme] = next(h for h in page.headers.getlist("Set-Cookie") if h.startswith("community_visitor="))
    assert "; Secure" in cookies["https"] and "Secure" not in cookies["http"]


def test_a_new_visitor_has_one_id_for_the_whole_request(site):
    """A cookieless request mints its visitor id once: a second ask in the same request (the thread
    page's related-click and a session, say) gets the same id, and that id is the cookie sent back
    (kills visitors.x_visitor_id__mutmut_2, which minted again on every call)."""
    from community.services.deflection import visitors

    with site.app.test_request_context("/ask", headers={"User-Agent": "Mozilla/5.0 Chrome/120.0"}):
        first = visitors.visitor_id()
        assert visitors.visitor_id() == first and visitors.visitor_id(mint=False) == first
        response = visitors.set_visitor_cookie(site.app.response_class())
    assert f"community_visitor={first}" in response.headers["Set-Cookie"]


def test_the_visitor_cookie_lasts_two_years(site):
    """The visitor is the same browser for two years (docs/metrics.md, "Ask session"), not the
    browser session nor three years (kills ``visitors.x_set_visitor_cookie__mutmut_13``, ``_20``)."""
    page = site.visitor().get("/ask")
    cookie = next(h for h in page.headers.getlist("Set-Cookie") if h.startswith("community_visitor="))
    assert "Max-Age=63072000" in cookie.split("; ")
