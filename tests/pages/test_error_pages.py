"""One styled error page for every status, with words for people and a way back."""
from __future__ import annotations

import pytest


def _main(html: str) -> str:
    return html[html.index('<main'):html.index('</main>')]


@pytest.mark.parametrize("url", ["/ideas/99999", "/threads/999999", "/users/nobody-here", "/no/such/page"])
def test_not_found_pages_are_styled_and_name_what_is_missing(client, url):
    response = client.get(url)
    assert response.status_code == 404
    main = _main(response.get_data(as_text=True))
    assert 'class="panel error-page"' in main and "Error 404" in main
    assert "The requested URL was not found on the server" not in main  # Werkzeug's text
    assert 'href="/"' in main


def test_missing_idea_and_thread_say_which(client):
    assert "No such idea" in client.get("/ideas/99999").get_data(as_text=True)
    assert "No such thread" in client.get("/threads/999999").get_data(as_text=True)


def test_forbidden_page_explains_who_it_is_for(client, make, login):
    member = make.user("plainmember")
    login(member)
    response = client.get("/moderation", headers={"Referer": "http://localhost/questions"})
    assert response.status_code == 403
    main = _main(response.get_data(as_text=True))
    assert "You don't have the permission" not in main
    assert "This page is for moderators" in main
    assert 'href="http://localhost/questions"' in main  # back to where they came from


def test_back_link_never_points_off_site(client):
    main = _main(client.get("/ideas/99999", headers={"Referer": "https://evil.example/x"}).get_data(as_text=True))
    assert "evil.example" not in main


def test_method_not_allowed_keeps_allow_header(client):
    response = client.delete("/questions")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "That action isn't available here" in response.get_data(as_text=True).replace("&#39;", "'")


def test_bad_request_page(client, make, login):
    thread = make.thread()
    login(make.user("voter", reputation=500))
    response = client.post(f"/posts/{thread.posts[0].id}/vote", data={"value": "sideways"})
    assert response.status_code == 400
    assert "Error 400" in response.get_data(as_text=True)


def test_api_errors_stay_json(client):
    response = client.get("/api/v1/threads/999999")
    assert response.status_code == 404 and response.is_json
