"""Actions a member cannot take yet are explained in the page, never in a pop-up."""
from __future__ import annotations

from pathlib import Path

STATIC_JS = Path(__file__).resolve().parents[2] / "community" / "static" / "js"


def test_newcomer_sees_why_downvote_and_flag_are_locked(client, make, login):
    thread = make.thread()
    login(make.user("newbie", reputation=0))
    html = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Downvoting unlocks at 125 reputation." in html
    assert '<button class="link" type="button" disabled' in html
    assert "unlocks at 15 reputation" in html


def test_member_with_privileges_sees_no_lock(client, make, login):
    thread = make.thread()
    login(make.user("trusted", reputation=500))
    html = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "unlocks at" not in html
    assert "<summary>Flag</summary>" in html


def test_own_post_explains_why_voting_is_refused(client, make, login):
    author = make.user("author", reputation=500)
    thread = make.thread(author)
    login(author)
    html = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert 'title="You cannot vote on your own post."' in html


def test_refused_vote_answers_json_with_the_reason(client, make, login):
    thread = make.thread()
    login(make.user("newbie2", reputation=0))
    response = client.post(f"/posts/{thread.posts[0].id}/vote", data={"value": "-1"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.json["error"]["message"] == "Downvoting unlocks at 125 reputation."


def test_no_script_uses_browser_pop_up_alerts():
    offenders = [p.name for p in STATIC_JS.rglob("*.js") if "alert(" in p.read_text()]
    assert offenders == []
