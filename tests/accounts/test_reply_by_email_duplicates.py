"""The same reply mail delivered twice, or ten times at once, posts once (its Message-ID decides).

Mail servers redeliver: after a timeout on the pipe, from a second MX, through a forwarding
loop.  ``flask mail receive`` keeps each mail's Message-ID in ``inbound_mail`` (unique), so a
repeat exits 0 ("already received") without posting.  The burst runs ten real
``flask --app ... mail receive`` processes at the same moment against one SQLite file and one
PostgreSQL database.
"""
from __future__ import annotations

import subprocess
import sys
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from community.models import InboundMail, Post
from community.services.mail import inbound
from tests.platform import live_server

FLASK = Path(sys.executable).with_name("flask")


def _mail(to: str, text: str, message_id: str | None = "<CAF=abc.123@mail.example.net>") -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "asker@example.com", to, "Re: your thread"
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(text)
    return message.as_bytes()


@pytest.fixture()
def scene(app, make):
    app.config["MAIL_FROM"] = "Support Community <community@example.com>"
    asker = make.user("asker")
    thread = make.thread(author=asker, title="Sync stops after the update")
    make.reply(thread, author=make.user("helper"))
    return asker, thread


def _receive(app, raw: bytes):
    return app.test_cli_runner().invoke(args=["mail", "receive"], input=raw)


def _replies_by(db, user) -> list[str]:
    return list(db.session.execute(select(Post.body).where(Post.author_id == user.id, Post.is_question.is_(False))
                                   .order_by(Post.id)).scalars())


def test_a_mail_delivered_twice_posts_once_and_the_repeat_is_not_bounced(app, db, scene):
    asker, thread = scene
    raw = _mail(inbound.reply_address(asker.id, thread.id), "Restarting fixed it.")
    first, second = _receive(app, raw), _receive(app, raw)
    assert first.exit_code == 0 and "posted #" in first.output, first.stderr
    assert second.exit_code == 0 and "already received" in second.output, second.stderr
    assert _replies_by(db, asker) == ["Restarting fixed it."]
    row = db.session.execute(select(InboundMail)).scalar_one()
    assert row.message_key == "CAF=abc.123@mail.example.net"
    assert row.post_id == db.session.execute(select(func.max(Post.id))).scalar_one()


def test_another_message_id_posts_again_and_a_mail_without_one_is_known_by_its_bytes(app, db, scene):
    asker, thread = scene
    address = inbound.reply_address(asker.id, thread.id)
    assert _receive(app, _mail(address, "First.")).exit_code == 0
    assert _receive(app, _mail(address, "Second.", message_id="<other@mail.example.net>")).exit_code == 0
    bare = _mail(address, "No id.", message_id=None)
    assert _receive(app, bare).exit_code == 0
    assert "already received" in _receive(app, bare).output
    assert _receive(app, _mail(address, "No id, other text.", message_id=None)).exit_code == 0
    assert _replies_by(db, asker) == ["First.", "Second.", "No id.", "No id, other text."]
    keys = db.session.execute(select(InboundMail.message_key).order_by(InboundMail.id)).scalars().all()
    assert keys[:2] == ["CAF=abc.123@mail.example.net", "other@mail.example.net"]
    assert all(k.startswith("sha256:") and len(k) == 71 for k in keys[2:])


def test_a_refused_mail_is_not_remembered_so_its_redelivery_is_judged_again(app, db, scene):
    asker, thread = scene
    raw = _mail(inbound.reply_address(asker.id, thread.id), "A late thank you")
    thread.locked = True
    db.session.commit()
    assert _receive(app, raw).exit_code == 77
    thread.locked = False
    db.session.commit()
    assert _receive(app, raw).exit_code == 0
    assert _replies_by(db, asker) == ["A late thank you"]
    thread.locked = True                          # locked since: the repeat is still only a repeat
    db.session.commit()
    repeat = _receive(app, raw)
    assert repeat.exit_code == 0 and "already received" in repeat.output


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_ten_deliveries_of_one_mail_at_once_post_once(kind, tmp_path):
    from community import create_app
    from community.extensions import db
    from community.services.accounts import users
    from community.services.forum import threads

    with live_server.database(kind, tmp_path, "accounts_inbound") as url:
        config = live_server.server_config(url, tmp_path, MAIL_FROM="community@example.com")
        (tmp_path / "inbound_app.py").write_text(f"from community import create_app\napp = create_app({config!r})\n")
        app = create_app(config)
        with app.app_context():
            db.create_all()
            asker = users.create_user("asker", "asker@example.com", "password123")
            helper = users.create_user("helper", "helper@example.com", "password123")
            db.session.flush()
            category = threads.create_category("Sync")
            thread = threads.create_thread(asker, category, "Sync stops after the update",
                                           "It stops every time the update runs.")
            threads.add_reply(helper, thread, "Restart the agent.")
            db.session.commit()
            raw = _mail(inbound.reply_address(asker.id, thread.id), "Thanks, that was it.")
            asker_id = asker.id
            db.engine.dispose()
        barrier = threading.Barrier(10)
        results, errors = [], []

        def deliver():
            barrier.wait()
            try:   # ten processes each import the app at once: minutes on a loaded machine
                proc = subprocess.run([str(FLASK), "--app", "inbound_app", "mail", "receive"], input=raw,
                                      capture_output=True, cwd=tmp_path, timeout=600,
                                      env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{tmp_path}:{live_server.ROOT}"})
            except Exception as exc:   # a thread's exception would be lost; the test reports it
                errors.append(repr(exc))
            else:
                results.append(proc)

        workers = [threading.Thread(target=deliver) for _ in range(10)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert not errors, errors
        assert [p.returncode for p in results] == [0] * 10, [p.stderr.decode()[-500:] for p in results]
        outputs = sorted(p.stdout.decode().split(" ")[0] for p in results)
        assert outputs == ["already"] * 9 + ["posted"], outputs
        with app.app_context():
            bodies = db.session.execute(select(Post.body).where(Post.author_id == asker_id,
                                                                Post.is_question.is_(False))).scalars().all()
            assert bodies == ["Thanks, that was it."]
            assert db.session.execute(select(func.count()).select_from(InboundMail)).scalar_one() == 1
            db.engine.dispose()
