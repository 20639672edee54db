"""The search page: results with highlighted snippets, filters, pagination, empty state."""
from __future__ import annotations

from datetime import datetime

from community.services.forum import accepting


def test_results_highlight_and_escape(client, make, db):
    thread = make.thread(title="Invoice <b>PDF</b> download is blank",
                         body="The invoice PDF opens but is blank; <script>alert(1)</script> in my notes.")
    page = client.get("/search?q=invoice+pdf")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'href="/threads/{thread.id}/' in html
    assert "<mark>Invoice</mark> &lt;b&gt;<mark>PDF</mark>&lt;/b&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert "alert(1)" in html  # the sanitizer dropped the tags; the text is shown, escaped
    assert "1 result for" in html


def test_solved_snippet_comes_from_accepted_answer(client, make, db):
    thread = make.thread(title="Sync stuck at ninety nine percent", body="It never completes, even overnight.")
    reply = make.reply(thread, body="Pause sync, clear the cache folder, resume.")
    accepting.accept(thread.author, thread, reply)
    db.session.commit()
    html = client.get("/search?q=sync+stuck").get_data(as_text=True)
    assert "✓ Solved" in html and "Accepted answer:" in html and "clear the cache folder" in html


def test_filters_category_solved_type_and_dates(client, make, db):
    billing, mobile = make.category("Billing"), make.category("Mobile")
    old = make.thread(category=billing, title="Refund for a duplicate charge")
    new = make.thread(category=mobile, title="Refund requested from the mobile app")
    old.created_at = datetime(2020, 1, 10)
    db.session.commit()
    reply = make.reply(new, body="Refunds from the app appear within five days.")
    accepting.accept(new.author, new, reply)
    db.session.commit()

    def ids(query):
        html = client.get("/search?" + query).get_data(as_text=True)
        return {t.id for t in (old, new) if f"/threads/{t.id}/" in html}

    assert ids("q=refund") == {old.id, new.id}
    assert ids(f"q=refund&category={billing.id}") == {old.id}
    assert ids("q=refund&solved=1") == {new.id}
    assert ids("q=refund&type=thread") == {old.id, new.id}
    assert ids("q=refund&type=idea") == set()
    assert ids("q=refund&from=2021-01-01") == {new.id}
    assert ids("q=refund&to=2020-01-10") == {old.id}
    html = client.get("/search?q=refund&from=soon").get_data(as_text=True)
    assert "is not a date" in html and ids("q=refund&from=soon") == {old.id, new.id}
    assert ids("q=refund&category=99999") == {old.id, new.id}


def test_date_filter_is_exact_to_the_microsecond(make, db):
    """The date filter reads whole seconds from a column (schema 8) and decides a document in a
    bound's own second by its stored time: the same answers as comparing the datetimes, on
    both backends."""
    from community import search

    moments = [datetime(2022, 5, 1, 12, 0, 0), datetime(2022, 5, 1, 12, 0, 0, 400000),
               datetime(2022, 5, 1, 12, 0, 0, 999999), datetime(2022, 5, 1, 12, 0, 1),
               datetime(2022, 5, 1, 12, 0, 1, 500000), datetime(2022, 5, 2)]
    threads = []
    for n, moment in enumerate(moments):
        thread = make.thread(title=f"Quarterly ledger export number {n}")
        thread.created_at = moment
        threads.append(thread)
    db.session.commit()
    search.rebuild()
    bounds = [None, datetime(2022, 5, 1, 12, 0, 0), datetime(2022, 5, 1, 12, 0, 0, 400000),
              datetime(2022, 5, 1, 12, 0, 0, 400001), datetime(2022, 5, 1, 12, 0, 0, 999999),
              datetime(2022, 5, 1, 12, 0, 1), datetime(2022, 5, 1, 12, 0, 1, 499999), datetime(2022, 5, 3)]
    for since in bounds:
        for until in bounds:
            found = {hit.id for hit in search.search("ledger export", since=since, until=until,
                                                     per_page=50).results}
            wanted = {t.id for t in threads if (since is None or t.created_at >= since)
                      and (until is None or t.created_at <= until)}
            assert found == wanted, (since, until)


def test_pagination(client, make, db, app):
    app.config["PAGE_SIZE"] = 5
    category = make.category()
    for n in range(12):
        make.thread(category=category, title=f"Webcam flickers in meetings case {n}")
    first = client.get("/search?q=webcam+flickers").get_data(as_text=True)
    assert "12 results" in first and "page 1 of 3" in first and 'rel="next"' in first
    third = client.get("/search?q=webcam+flickers&page=3").get_data(as_text=True)
    assert third.count('class="search-result card"') == 2 and 'rel="prev"' in third
    beyond = client.get("/search?q=webcam+flickers&page=9").get_data(as_text=True)
    assert "No more results" in beyond


def test_empty_state_links_to_ask(client, make):
    make.thread(title="Something entirely different")
    html = client.get("/search?q=xylophone+quantum").get_data(as_text=True)
    assert "No results for “xylophone quantum”" in html
    assert 'href="/ask?title=xylophone+quantum"' in html and "Ask the community" in html


def test_blank_query_and_hostile_input(client, make):
    make.thread(title="Normal thread about exports")
    assert client.get("/search").status_code == 200
    for q in ['"', "title:(", "*", "a" * 20000, "%00", "OR AND NOT", "🙂🙂", "export)(*?"]:
        response = client.get("/search", query_string={"q": q, "page": "x"})
        assert response.status_code == 200, q


def test_hidden_threads_not_shown(client, make, db):
    thread = make.thread(title="Secret roadmap leaked here")
    thread.hidden = True
    db.session.commit()
    assert "No results" in client.get("/search?q=secret+roadmap").get_data(as_text=True)


def test_sort_orders_every_match_by_newest_activity_and_votes(client, make, db):
    best = make.thread(title="Refund refund refund for a double charge", body="Refund the duplicate refund.")
    old = make.thread(title="Refund after cancelling", body="How long does it take?")
    new = make.thread(title="Where is my refund", body="It was promised last week.")
    voted = make.thread(title="Refund policy for annual plans", body="Can I get a partial one?")
    other = make.thread(title="Password reset mail never arrives", body="Nothing in spam either.")
    for thread, created, activity, score in ((best, datetime(2021, 3, 1), datetime(2021, 3, 2), 1),
                                             (old, datetime(2019, 5, 1), datetime(2024, 8, 1), 2),
                                             (new, datetime(2025, 1, 1), datetime(2025, 1, 2), 0),
                                             (voted, datetime(2020, 7, 1), datetime(2020, 7, 1), 9),
                                             (other, datetime(2026, 1, 1), datetime(2026, 1, 1), 50)):
        thread.created_at, thread.last_activity_at, thread.score = created, activity, score
    db.session.commit()

    def order(query):
        html = client.get("/search?q=refund" + query).get_data(as_text=True)
        found = sorted((html.index(f"/threads/{t.id}/"), t) for t in (best, old, new, voted, other)
                       if f"/threads/{t.id}/" in html)
        return [t for _at, t in found]

    assert order("")[0] is best and other not in order("")
    assert order("&sort=newest") == [new, best, voted, old]
    assert order("&sort=active") == [new, old, best, voted]
    assert order("&sort=votes") == [voted, old, best, new]
    assert order("&sort=sideways") == order("")
    html = client.get("/search?q=refund&sort=votes").get_data(as_text=True)
    assert 'aria-current="true" href="/search?q=refund&amp;sort=votes">Most votes</a>' in html
    assert 'name="sort" value="votes"' in html  # the filters keep the order


def test_a_sorted_search_pages_through_every_match(client, make, db, app):
    app.config["PAGE_SIZE"] = 2
    threads = [make.thread(title=f"Export report number {n}", body="The export of this report fails.")
               for n in range(5)]
    for n, thread in enumerate(threads):
        thread.created_at = datetime(2020, 1, 1 + n)
    db.session.commit()
    seen = []
    for page in (1, 2, 3):
        html = client.get(f"/search?q=export&sort=newest&page={page}").get_data(as_text=True)
        seen += sorted((html.index(f"/threads/{t.id}/"), t.id) for t in threads if f"/threads/{t.id}/" in html)
        if page < 3:
            assert f"/search?q=export&amp;sort=newest&amp;page={page + 1}" in html  # the next page keeps the order
    assert [thread_id for _at, thread_id in seen] == [t.id for t in reversed(threads)]
