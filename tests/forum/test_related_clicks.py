"""Clicks on "Related questions" are recorded like opened suggestions (issue 16): through the
thread page's links, once per visitor, target and thread, never for bots or prefetches, and
only between visible threads; the redirect's address is the server's."""
from __future__ import annotations

from sqlalchemy import select

from community.models import RelatedClick
from community.services.forum import related
from community.services.moderation import actions as moderation

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}


def pair(make):
    shown = make.thread(title="Invoice PDF download fails", body="The invoice PDF never downloads.")
    other = make.thread(title="Download of an invoice PDF fails in Safari",
                        body="The invoice PDF download never starts in Safari.")
    return shown, other


def clicks(db):
    return db.session.execute(select(RelatedClick.thread_id, RelatedClick.target_id, RelatedClick.visitor_id)
                              .order_by(RelatedClick.id)).all()


def test_a_related_link_on_the_page_records_the_click_and_goes_to_the_thread(app, client, make, db):
    shown, other = pair(make)
    page = client.get(f"/threads/{shown.id}/{shown.slug}", headers=BROWSER).get_data(as_text=True)
    link = f"/threads/{shown.id}/related/{other.id}"
    assert f'href="{link}"' in page[page.index("Related questions"):]
    response = client.get(link, headers=BROWSER)
    assert response.status_code == 302 and response.headers["Location"] == f"/threads/{other.id}/{other.slug}"
    [(thread_id, target_id, visitor)] = clicks(db)
    assert (thread_id, target_id) == (shown.id, other.id) and visitor
    assert client.get(link, headers=BROWSER).status_code == 302  # the same visitor again: counted once
    assert len(clicks(db)) == 1
    assert app.test_client().get(link, headers=BROWSER).status_code == 302  # another visitor
    assert related.click_counts(shown.id) == {other.id: 2}


def test_bots_and_prefetches_are_sent_on_but_not_counted(client, make, db):
    shown, other = pair(make)
    link = f"/threads/{shown.id}/related/{other.id}"
    assert client.get(link, headers={"User-Agent": "Googlebot/2.1"}).status_code == 302
    assert client.get(link, headers={**BROWSER, "Sec-Purpose": "prefetch"}).status_code == 302
    assert clicks(db) == []


def test_only_between_visible_threads(client, make, db):
    shown, other = pair(make)
    moderation.hide_thread(make.user("mod", role="moderator"), other, "spam")
    db.session.commit()
    assert client.get(f"/threads/{shown.id}/related/{other.id}", headers=BROWSER).status_code == 404
    assert client.get(f"/threads/{other.id}/related/{shown.id}", headers=BROWSER).status_code == 404
    assert client.get(f"/threads/{shown.id}/related/{shown.id}", headers=BROWSER).status_code == 404
    assert client.get(f"/threads/{shown.id}/related/999999", headers=BROWSER).status_code == 404
    assert clicks(db) == []
