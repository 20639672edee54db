"""The "visible thread/post" rule is one hybrid on the model: the SQL form and the Python form agree."""
from __future__ import annotations

from sqlalchemy import select

from community.models import Post, Thread


def test_thread_visible_and_live_agree_in_sql_and_python(db, make):
    normal, hidden, deleted, merged = (make.thread() for _ in range(4))
    hidden.hidden, deleted.deleted, merged.merged_into_id = True, True, normal.id
    db.session.commit()
    everyone = [normal, hidden, deleted, merged]
    assert set(db.session.execute(select(Thread.id).where(Thread.visible)).scalars()) == {normal.id}
    assert {t.id for t in everyone if t.visible} == {normal.id}
    assert set(db.session.execute(select(Thread.id).where(Thread.live)).scalars()) == {normal.id, hidden.id}
    assert {t.id for t in everyone if t.live} == {normal.id, hidden.id}


def test_post_visible_agrees_in_sql_and_python(db, make):
    thread = make.thread()
    shown, hidden, deleted = (make.reply(thread) for _ in range(3))
    hidden.hidden, deleted.deleted = True, True
    db.session.commit()
    answers = select(Post.id).where(Post.thread_id == thread.id, Post.is_question.is_(False))
    assert set(db.session.execute(answers.where(Post.visible)).scalars()) == {shown.id}
    assert [p.id for p in (shown, hidden, deleted) if p.visible] == [shown.id]
