"""Close as duplicate (issue 16): the asker or a moderator marks a question as a duplicate of another.

The duplicate stays readable with a banner to the original and its accepted answer,
its readers count toward the original, the audit log records it, and its title
becomes learned search evidence for the original.
"""
from __future__ import annotations

from sqlalchemy import select

from community.models import AuditEntry, DuplicateLink, SearchEvidence
from community.services.forum import accepting


def suggest_ids(client, query):
    return [r["id"] for r in client.get(f"/api/v1/suggest?q={query}&type=thread").get_json()["results"]]


def setup_pair(make, db):
    original = make.thread(title="Invoices do not download as a PDF file",
                           body="Clicking download on an invoice gives an empty page.")
    answer = make.reply(original, body="Allow pop-ups for the site, then download again.")
    accepting.accept(original.author, original, answer)
    db.session.commit()
    duplicate = make.thread(title="Getting an empty page when saving my billing receipt",
                            body="Saving the receipt opens a blank tab and nothing else happens.")
    return original, answer, duplicate


def test_the_asker_closes_their_question_as_a_duplicate(client, make, db, login):
    original, answer, duplicate = setup_pair(make, db)
    assert suggest_ids(client, "billing receipt blank") == [duplicate.id]
    login(duplicate.author)
    response = client.post(f"/threads/{duplicate.id}/duplicate", data={"original": f"/threads/{original.id}/x"})
    assert response.status_code == 302
    link = db.session.execute(select(DuplicateLink)).scalar_one()
    assert (link.thread_id, link.original_id, link.closed_by_id) == (duplicate.id, original.id, duplicate.author.id)
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "thread.duplicate")).scalar_one()
    assert (entry.target_id, entry.after["duplicate_of"], entry.actor_id) == (duplicate.id, original.id,
                                                                              duplicate.author.id)

    page = client.get(f"/threads/{duplicate.id}/{duplicate.slug}").get_data(as_text=True)
    assert "It was closed as a duplicate of" in page
    assert f'href="/threads/{original.id}/{original.slug}">Invoices do not download as a PDF file</a>' in page
    assert f"#post-{answer.id}" in page and "Allow pop-ups for the site" in page
    assert "Close as duplicate</button>" not in page  # closed once

    # Its title is learned evidence for the original: voter duplicate:<id>.
    rows = db.session.execute(select(SearchEvidence.thread_id, SearchEvidence.voter, SearchEvidence.source,
                                     SearchEvidence.words)).all()
    assert rows == [(original.id, f"duplicate:{duplicate.id}", "duplicate", duplicate.title)]
    # The duplicate's words now find the original too.
    assert suggest_ids(client, "billing receipt") == [duplicate.id, original.id]


def test_readers_of_the_duplicate_count_toward_the_original(client, make, db, login):
    original, _answer, duplicate = setup_pair(make, db)
    moderator = make.user("mod", role="moderator")
    login(moderator)
    assert client.post(f"/threads/{duplicate.id}/duplicate", data={"original": str(original.id)}).status_code == 302
    db.session.expire_all()
    before = (db.session.get(type(original), original.id).view_count, db.session.get(type(duplicate), duplicate.id).view_count)
    client.get(f"/threads/{duplicate.id}/{duplicate.slug}")
    client.get(f"/threads/{duplicate.id}/{duplicate.slug}")  # the same reader again: counted once
    db.session.expire_all()
    after = (db.session.get(type(original), original.id).view_count, db.session.get(type(duplicate), duplicate.id).view_count)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_others_may_not_close_and_bad_originals_are_refused(client, make, db, login):
    original, _answer, duplicate = setup_pair(make, db)
    stranger = make.user("stranger")
    login(stranger)
    assert client.post(f"/threads/{duplicate.id}/duplicate", data={"original": str(original.id)}).status_code == 403
    login(duplicate.author)
    for value, status, message in [("", 400, "Give the number or the address"),
                                   ("999999", 404, "does not exist"),
                                   (str(duplicate.id), 400, "cannot be a duplicate of itself")]:
        response = client.post(f"/threads/{duplicate.id}/duplicate", data={"original": value})
        assert response.status_code == status, value
        assert message in response.get_data(as_text=True)
    assert db.session.execute(select(DuplicateLink)).first() is None
    assert client.post(f"/threads/{duplicate.id}/duplicate", data={"original": str(original.id)}).status_code == 302
    again = client.post(f"/threads/{duplicate.id}/duplicate", data={"original": str(original.id)})
    assert again.status_code == 409


def test_a_duplicate_of_a_duplicate_points_at_the_first_original(client, make, db, login):
    original, _answer, duplicate = setup_pair(make, db)
    third = make.thread(title="Blank tab instead of my receipt")
    moderator = make.user("mod", role="moderator")
    login(moderator)
    # third -> duplicate first, then duplicate -> original: third moves on to original.
    assert client.post(f"/threads/{third.id}/duplicate", data={"original": str(duplicate.id)}).status_code == 302
    assert client.post(f"/threads/{duplicate.id}/duplicate", data={"original": str(original.id)}).status_code == 302
    links = dict(db.session.execute(select(DuplicateLink.thread_id, DuplicateLink.original_id)).all())
    assert links == {third.id: original.id, duplicate.id: original.id}
    # A cycle is impossible: the original cannot be closed as a duplicate of its duplicate.
    response = client.post(f"/threads/{original.id}/duplicate", data={"original": str(third.id)})
    assert response.status_code == 400
    votes = db.session.execute(select(SearchEvidence.thread_id, SearchEvidence.voter)
                               .order_by(SearchEvidence.id)).all()
    assert votes == [(duplicate.id, f"duplicate:{third.id}"), (original.id, f"duplicate:{duplicate.id}"),
                     (original.id, f"duplicate:{third.id}")]
    # Rebuilt from the links, the vote that pointed at the old original is gone.
    result = client.application.test_cli_runner().invoke(args=["search", "learn"])
    assert result.output.strip() == ("Learned 0 votes from ask sessions, 2 from closed duplicates, 0 from "
                                     "accepted answers and ideas linking to threads and 0 from related-question "
                                     "clicks; re-indexed 2 threads.")
    votes = db.session.execute(select(SearchEvidence.thread_id, SearchEvidence.voter)
                               .order_by(SearchEvidence.thread_id, SearchEvidence.voter)).all()
    assert votes == [(original.id, f"duplicate:{duplicate.id}"), (original.id, f"duplicate:{third.id}")]


def test_the_thread_page_lists_related_questions_from_the_search_engine(client, make, db):
    original, _answer, duplicate = setup_pair(make, db)
    other = make.thread(title="Download of an invoice PDF fails in Safari",
                        body="The invoice PDF download never starts in Safari.")
    unrelated = make.thread(title="Change the email address of my account", body="Where is the email setting?")
    page = client.get(f"/threads/{original.id}/{original.slug}").get_data(as_text=True)
    section = page[page.index("Related questions"):]
    # Each link goes through the click recorder (tests/forum/test_related_clicks.py).
    assert f'href="/threads/{original.id}/related/{other.id}">Download of an invoice PDF fails in Safari</a>' in section
    assert f'/related/{original.id}"' not in section  # never itself
    assert f'/related/{unrelated.id}"' not in section
    # A new thread on the subject appears at once: the cache is keyed by the index generation.
    newer = make.thread(title="Invoice PDF is an empty file", body="The downloaded PDF has zero bytes.")
    page = client.get(f"/threads/{original.id}/{original.slug}").get_data(as_text=True)
    assert f'/related/{newer.id}"' in page[page.index("Related questions"):]
