"""Schemathesis against ``/api/v1/openapi.json``: no 5xx, and every answer is what the document says.

Schemathesis reads the document and generates requests for every operation
(valid ones and ones that break the schema: wrong types, missing fields, huge
integers, odd strings), sends them to the app in-process with a member's and
an admin's bearer token, and checks each answer: not a 5xx, a status code the
operation documents, the documented content type and headers, and a body that
validates against the documented schema.  The site has an object of every kind
(threads, answers, ideas, an article, a ticket), and valid requests name ids 1 … 3
and real usernames, so they reach the code behind the lookup.

Bounded: ``MAX_EXAMPLES`` per operation, derandomized (the same cases every run,
so a red run is reproducible and CI is never red by chance).

What it found when it was written: ``PATCH``/``DELETE`` on an id past 2**31 − 1 answered 405
(the id's GET rule matched first; ``request_guards`` now bounds the route pattern itself), the
feedback endpoint's 200 for a repeated answer, an idea's first status with ``old_status: null``
and the ticket's staff view matching both branches of a ``oneOf`` were not in the document.
"""
from __future__ import annotations

import contextvars
import random
import string

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _whoosh_names_from_the_os(monkeypatch):
    """Hypothesis seeds the global ``random`` before every example (that is what makes a run
    repeatable), and Whoosh names each new segment and temporary file from it: every example's
    segment got the same name, so the next commit failed (an AssertionError in
    ``create_compound_file``) and search writes fell back to the background.  Here Whoosh's
    names come from the OS's entropy instead, as outside a Hypothesis test."""
    import importlib

    rng = random.SystemRandom()

    def random_name(size=28):
        return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(size))

    for name in ("whoosh.codec.base", "whoosh.writing", "whoosh.filedb.compound", "whoosh.filedb.filestore"):
        monkeypatch.setattr(importlib.import_module(name), "random_name", random_name)


def _seed(app) -> dict[str, str]:
    """One object of every kind; a bearer token for a member and for an admin."""
    from community.extensions import db
    from community.services.accounts import users
    from community.services.forum import threads
    from community.services.ideas import exchange
    from community.services.kb import articles
    from community.services.tickets import workflow

    member = users.create_user("alice", "alice@example.com", "password123")
    admin = users.create_user("root", "root@example.com", "password123", "admin")
    category = threads.create_category("Billing", "Invoices and payment")
    thread = threads.create_thread(member, category, "How do I change my billing email?",
                                   "I tried the settings page but nothing changes at all.", tags="billing")
    threads.add_reply(admin, thread, "Open Billing, then Contacts, and edit the address there.")
    threads.create_thread(admin, category, "Where is the billing email setting?",
                          "The settings page shows no billing section for me.")
    exchange.create_idea(member, category, "Offline mode for the mobile app",
                         "Let me read my notes without a connection, please.")
    exchange.create_idea(admin, category, "Dark mode for the web app", "Easier on the eyes at night.")
    articles.create_article(admin, category, "Changing the billing email",
                            "Open Billing, then Contacts, and edit the address.", state="published")
    workflow.open_ticket(source="contact", subject="Invoices are missing",
                         body="Last month's invoice is not there.", requester=member)
    tokens = {"member": users.issue_token(member), "admin": users.issue_token(admin)}
    db.session.commit()
    return tokens


def _point_at_rows(case, pick: int) -> None:
    """Ids that name rows (1 … 3) and names of real members, so that valid requests get past
    the lookup and reach the code behind it, instead of ending as a 404 on a random id."""
    for name, value in (case.path_parameters or {}).items():
        if name == "username":
            case.path_parameters[name] = ("alice", "root", "nobody")[pick]
        elif isinstance(value, int):
            case.path_parameters[name] = pick + 1
    if isinstance(case.body, dict):
        for name, value in case.body.items():
            if name.endswith("_id") and isinstance(value, int) and not isinstance(value, bool):
                case.body[name] = pick + 1


def _failures(schema, headers: dict, mode) -> dict[str, str]:
    """Run every operation's generated cases; the first failure of each operation, by label."""
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode), pick=st.integers(0, 2))
        def run(case, pick):
            if mode is GenerationMode.POSITIVE:
                _point_at_rows(case, pick)
            # As ``conftest.RequestClient`` does: each request in an empty context, where Flask
            # pushes a fresh application context (its own ``g`` and database session).
            contextvars.Context().run(case.call_and_validate, headers=headers, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # Negative mode for an operation whose every input is valid (GET /categories has
            # none; any string is a username): there is no invalid request to send.
            continue
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - a failed check, with its case
            found[f"{mode.value} {operation.label}"] = str(exc)[:1500]
    return found


@pytest.mark.parametrize("role", ["member", "admin"])
def test_every_operation_answers_as_documented(app, role):
    token = _seed(app)[role]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    found = {}
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        found.update(_failures(schema, headers, mode))
    assert not found, "\n\n".join(f"{label}:\n{failure}" for label, failure in sorted(found.items()))
