"""/questions: every visible question, with sorts, filters, pagination and a way back past the end."""
from __future__ import annotations

import re

from community.extensions import db
from community.services.forum import accepting


def _titles(html: str) -> list[str]:
    return re.findall(r'<a href="/threads/\d+/[^"]+">([^<]+)</a>', html)


def _seed(make):
    sync, billing = make.category("Sync"), make.category("Billing")
    asker, helper = make.user("asker"), make.user("helper")
    solved = make.thread(asker, sync, title="Solved sync question about conflicts", tags="desktop")
    answer = make.reply(solved, helper)
    accepting.accept(asker, solved, answer)
    answered = make.thread(asker, sync, title="Answered but unsolved sync question", tags="desktop mobile")
    make.reply(answered, helper)
    lonely = make.thread(asker, billing, title="Unanswered billing question here", tags="invoices")
    db.session.commit()
    return {"sync": sync, "billing": billing, "solved": solved, "answered": answered, "lonely": lonely}


def test_lists_every_question_and_filters_by_status(client, make):
    _seed(make)
    assert set(_titles(client.get("/questions").get_data(as_text=True))) == {
        "Solved sync question about conflicts", "Answered but unsolved sync question",
        "Unanswered billing question here"}
    assert _titles(client.get("/questions?status=solved").get_data(as_text=True)) == [
        "Solved sync question about conflicts"]
    assert _titles(client.get("/questions?status=unanswered").get_data(as_text=True)) == [
        "Unanswered billing question here"]
    assert set(_titles(client.get("/questions?status=unsolved").get_data(as_text=True))) == {
        "Answered but unsolved sync question", "Unanswered billing question here"}


def test_filters_combine_category_tag_and_status(client, make):
    seeded = _seed(make)
    html = client.get(f"/questions?category={seeded['sync'].slug}&tag=DESKTOP&status=unsolved").get_data(as_text=True)
    assert _titles(html) == ["Answered but unsolved sync question"]
    assert "1 question" in html and "1 questions" not in html
    assert _titles(client.get("/questions?tag=invoices").get_data(as_text=True)) == ["Unanswered billing question here"]


def test_sort_by_votes_and_newest(client, make, db):
    seeded = _seed(make)
    seeded["lonely"].score = 7
    seeded["answered"].score = 3
    db.session.commit()
    assert _titles(client.get("/questions?sort=votes").get_data(as_text=True))[:2] == [
        "Unanswered billing question here", "Answered but unsolved sync question"]
    assert _titles(client.get("/questions?sort=newest").get_data(as_text=True))[0] == "Unanswered billing question here"


def test_unknown_values_fall_back_or_answer_404(client, make):
    _seed(make)
    assert client.get("/questions?sort=bogus&status=nope").status_code == 200
    missing = client.get("/questions?category=no-such-category")
    assert missing.status_code == 404 and "No such category" in missing.get_data(as_text=True)
    assert client.get("/questions?tag=a%00b").status_code == 400  # a NUL anywhere: request_guards
    assert client.get("/questions?tag=" + "x" * 41).status_code == 404


def test_hidden_and_deleted_threads_are_not_listed(client, make, db):
    seeded = _seed(make)
    seeded["lonely"].hidden = True
    db.session.commit()
    assert "Unanswered billing question here" not in client.get("/questions").get_data(as_text=True)


def test_pagination_and_a_page_past_the_end_links_back(client, make, app):
    app.config["PAGE_SIZE"] = 2
    _seed(make)
    first = client.get("/questions?status=all").get_data(as_text=True)
    assert len(_titles(first)) == 2 and 'rel="next"' in first
    second = client.get("/questions?page=2").get_data(as_text=True)
    assert len(_titles(second)) == 1
    past = client.get("/questions?page=9&status=unsolved").get_data(as_text=True)
    assert _titles(past) == []
    assert "Page 9 is past the end" in past
    assert 'href="/questions?status=unsolved"' in past  # back to the first page, filters kept


def test_category_page_past_the_end_links_back(client, make, app):
    seeded = _seed(make)
    html = client.get(f"/categories/{seeded['sync'].slug}?page=4").get_data(as_text=True)
    assert "No threads here yet" not in html
    assert "Page 4 is past the end" in html and f'href="/categories/{seeded["sync"].slug}?sort=activity"' in html


def test_home_links_to_all_questions_unanswered_and_tags(client, make):
    _seed(make)
    html = client.get("/").get_data(as_text=True)
    assert 'href="/questions"' in html
    assert 'href="/questions?status=unanswered"' in html
    assert 'href="/tags"' in html


def test_questions_nav_link_goes_to_questions_and_is_current(client, make):
    html = client.get("/questions").get_data(as_text=True)
    assert re.search(r'<a href="/questions" class="current" aria-current="page">Questions</a>', html)
    home = client.get("/").get_data(as_text=True)
    assert '<a href="/questions">Questions</a>' in home
