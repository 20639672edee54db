"""A thread's search document is read from only the posts it is made of, and is the document all
of its posts give (``documents._document_posts``)."""
from __future__ import annotations

from sqlalchemy import select

from community.models import Post, Thread
from community.search import documents
from community.services.forum import threads as forum_threads


def _replies(db, make, thread, bodies):
    authors = [make.user() for _ in range(3)]
    posts = [forum_threads.add_reply(authors[i % 3], thread, body, notify=False) for i, body in enumerate(bodies)]
    db.session.commit()
    return posts


def _from_every_post(db, thread_id):
    """The document as it was made before: from every post of the thread, as ORM objects."""
    thread = db.session.get(Thread, thread_id)
    posts = db.session.execute(select(Post).where(Post.thread_id == thread_id)).scalars().all()
    texts = documents.learned.learned_texts(db.session, [thread_id])
    return documents.thread_document(thread, posts, texts.get(thread_id, ""))


def _threads(db, make):
    category = make.category()
    many = make.thread(category=category, title="Sync stops overnight on the desktop client")
    posts = _replies(db, make, many, [f"Answer {i}: turn off sleep {'while idle ' * (i % 4)}in Settings."
                                      for i in range(170)])
    posts[5].hidden = True
    posts[60].deleted = True
    many.accepted_post_id = posts[150].id        # accepted, far after the answers that fill the field
    long = make.thread(category=category, title="Printer tray rattles")
    long_posts = _replies(db, make, long, [f"Long answer {i}: " + "the tray is loose " * 80 for i in range(12)])
    long.accepted_post_id = long_posts[0].id
    few = make.thread(category=category, title="Scanner jams on duplex pages")
    _replies(db, make, few, ["Clean the rollers.", "Update the driver."])
    bare = make.thread(category=category, title="Nobody answered this one")
    hidden = make.thread(category=category, title="A hidden question about fonts")
    _replies(db, make, hidden, ["Install the font again."])
    hidden.hidden = True
    db.session.commit()
    return [many.id, long.id, few.id, bare.id, hidden.id]


def test_documents_equal_those_of_every_post_one_thread_and_many(db, make):
    ids = _threads(db, make)
    expected = {documents.thread_key(i): _from_every_post(db, i) for i in ids}
    assert expected[documents.thread_key(ids[-1])] is None
    assert len(expected[documents.thread_key(ids[0])]["answers"]) == documents.INDEXED_CHARS
    assert "Answer 150" in expected[documents.thread_key(ids[0])]["accepted"]
    db.session.expunge_all()
    assert documents.thread_documents(db.session, ids) == expected      # several threads: row_number()
    for thread_id in ids:                                                # one thread: id > last LIMIT
        db.session.expunge_all()
        key = documents.thread_key(thread_id)
        assert documents.thread_documents(db.session, [thread_id]) == {key: expected[key]}
    assert documents.thread_documents(db.session, [10**9]) == {documents.thread_key(10**9): None}


def test_a_long_thread_is_read_only_up_to_the_answers_that_fill_its_document(db, make):
    ids = _threads(db, make)
    many, long = (db.session.get(Thread, i) for i in ids[:2])
    for together in (False, True):
        posts, _texts = documents._document_posts(db.session, [many, long] if together else [many])
        read = {row.id for row in posts[many.id]}
        assert many.question_post_id in read and many.accepted_post_id in read
        # 35-75 characters an answer: 4,000 are filled by the third round of 40, long before the 170th
        assert len(read) <= 3 * documents.ANSWER_ROUND + 2
    # after a new answer, the document is the one every post gives and did not read the new one
    _replies(db, make, many, ["A late answer about a completely different subject: zeppelins."])
    db.session.expunge_all()
    document = documents.thread_documents(db.session, [ids[0]])[documents.thread_key(ids[0])]
    assert document == _from_every_post(db, ids[0])
    assert "zeppelins" not in document["answers"]
