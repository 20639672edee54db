"""No open redirects: every URL a client supplies goes through one check (``views.util.safe_local_path``).

The vectors are those of the usual open-redirect corpora: other schemes, protocol-relative
and backslash forms, tabs and newlines that browsers drop, and their percent-encoded forms.
"""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlalchemy import select

from community import urls
from community.models import AskEvent
from community.services.ideas import exchange
from community.views.util import safe_local_path

UA = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"}

#: What the client sends (already decoded once, as the application reads it).
HOSTILE = [
    "https://evil.example/x", "http://evil.example", "HTTPS://evil.example", "http:evil.example",
    "http:/evil.example", "//evil.example", "///evil.example", "////evil.example/x",
    "/\\evil.example", "\\\\evil.example", "\\/evil.example", "/\\/evil.example", "\\evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example", "/\x00/evil.example",
    "/\x7f/evil.example", " //evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>", "evil.example", "@evil.example",
    "%2F%2Fevil.example", "%5C%5Cevil.example", "/%0a/x\n", "", None,
]
#: Local paths that must survive unchanged (a percent sign stays in the path; browsers do not decode it into a host).
LOCAL = ["/", "/threads/1/slug?sort=votes#post-2", "/ideas/7", "/users/ann%20b", "/%2F/evil.example",
         "/search?q=a//b"]


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_targets_are_refused(target):
    assert safe_local_path(target) is None


@pytest.mark.parametrize("target", LOCAL)
def test_local_paths_are_kept(target):
    assert safe_local_path(target) == target


@pytest.mark.parametrize("raw", [
    "https://evil.example/x", "//evil.example", "/%09/evil.example", "/%0A/evil.example", "/%0d%0a/evil.example",
    "/%5Cevil.example", "/%5C/evil.example", "%5C%5Cevil.example", "javascript%3Aalert(1)",
    "%09//evil.example", "/\\evil.example",
])
def test_login_next_never_leaves_the_site(client, make, raw):
    user = make.user("ann")
    response = client.post("/login?next=" + raw, data={"login": user.username, "password": "password123"})
    assert response.status_code == 302
    assert response.location == "/"


def test_login_next_with_a_nul_is_refused_before_logging_in(client, make):
    """A NUL anywhere in the address is a 400 (``request_guards``): no redirect, no session."""
    user = make.user("ann")
    response = client.post("/login?next=/%00/evil.example", data={"login": user.username, "password": "password123"})
    assert response.status_code == 400 and "Location" not in response.headers
    assert client.get("/notifications").status_code == 302  # still signed out


def test_login_next_keeps_a_local_path(client, make):
    user = make.user("ann")
    response = client.post("/login?next=" + quote("/ideas?sort=top"),
                           data={"login": user.username, "password": "password123"})
    assert response.location == "/ideas?sort=top"


@pytest.fixture()
def idea(make):
    author = make.user("author")
    created = exchange.create_idea(author, make.category(), "Dark mode for the mobile app",
                                   "The white screen hurts at night.")
    make.db.session.commit()
    return created


@pytest.mark.parametrize("to", ["/%09/evil.example", "https://evil.example/x", "//evil.example",
                                "/\\evil.example", "javascript:alert(1)", "/ideas/999999"])
def test_an_opened_idea_suggestion_goes_to_the_idea_whatever_to_says(client, db, idea, to):
    sid = re.search(r'data-ask-session="(\w*)"', client.get("/ask", headers=UA).data.decode()).group(1)
    # Only a suggestion the session was shown is recorded as opened (docs/metrics.md).
    client.get(f"/api/v1/suggest?q=dark+mode+mobile+app&session={sid}", headers=UA)
    response = client.get(f"/ask/open/{sid}/idea/{idea.id}", query_string={"to": to}, headers=UA)
    assert response.status_code == 302
    assert response.location == urls.idea_url(idea)
    opened = db.session.execute(select(AskEvent.idea_id).where(
        AskEvent.session_id == sid, AskEvent.kind == "suggestion_opened")).scalars().all()
    assert opened == [idea.id]


def test_opening_a_missing_idea_is_404_and_records_nothing(client, db):
    sid = re.search(r'data-ask-session="(\w*)"', client.get("/ask", headers=UA).data.decode()).group(1)
    assert client.get(f"/ask/open/{sid}/idea/424242?to=/ideas/424242", headers=UA).status_code == 404
    assert db.session.execute(select(AskEvent.id).where(AskEvent.kind == "suggestion_opened")).first() is None
