"""No input takes a worker down: what used to be a 500 is a 400 or a 404, through HTTP.

The rules live in ``community/request_guards.py`` (converter, request guard, JSON reader),
``community/services/inputs.py`` (ids and days) and ``views/util.url_for_args``; the last test
sends every route hostile values so that a new route cannot bring a 500 back.
Run on PostgreSQL too (``TEST_DATABASE_URL``), where out-of-range integers and NUL characters
fail statements that SQLite accepts.
"""
from __future__ import annotations

import json

import pytest

from community.request_guards import MAX_JSON_DEPTH
from tests.platform.route_rules import RULES
from tests.platform.test_route_roles import PARAM, Scene, Visitors, _fill

BIG = "2147483648"   # 2**31: one past the largest id the database can hold


def _json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    if code:
        assert error["code"] == code
    return error


# -- ids above 2**31 - 1 -----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/threads/2147483648", "/threads/2147483648/some-slug", "/ideas/2147483648",
                                  "/posts/2147483648/revisions", "/threads/99999999999999999999"])
def test_an_id_past_the_database_range_in_a_path_is_a_404_page(client, db, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "find that page" in response.get_data(as_text=True)


def test_the_largest_id_is_still_looked_up(client, db):
    assert client.get("/threads/2147483647").status_code == 404
    assert client.get("/api/v1/threads/2147483647").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/threads/2147483648", "/api/v1/ideas/2147483648",
                                  "/api/v1/tickets/2147483648"])
def test_an_id_past_the_range_in_an_api_path_is_a_json_404(client, db, path):
    _json_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize("method, path", [("PATCH", f"/api/v1/articles/{BIG}"), ("PATCH", f"/api/v1/posts/{BIG}"),
                                          ("DELETE", f"/api/v1/posts/{BIG}"), ("PATCH", f"/api/v1/tickets/{BIG}"),
                                          ("PATCH", "/api/v1/articles/6461246998094147595203256432721920")])
def test_a_method_whose_path_also_fits_another_rule_is_a_404_past_the_range(client, db, method, path):
    """Werkzeug checks a rule's methods before its values: the bound must be in the route's pattern,
    or the GET rule of the same path answers 405 "method not allowed" for an id no row can have."""
    _json_error(client.open(path, method=method, json={}), 404, "not_found")


def test_leading_zeros_still_name_the_same_id(client, make):
    thread = make.thread()
    assert client.get(f"/api/v1/threads/000{thread.id}").get_json()["id"] == thread.id


def test_a_write_to_an_id_past_the_range_is_a_404(client, make, login):
    login(make.user())
    assert client.post(f"/posts/{BIG}/vote", data={"value": 1}).status_code == 404
    assert client.post(f"/threads/{BIG}/reply", data={"body": "An answer long enough."}).status_code == 404


@pytest.mark.parametrize("path", [f"/kb?category={BIG}", f"/search?q=refund&category={BIG}",
                                  f"/questions?page={BIG}", f"/search?q=refund&page=-{BIG}1"])
def test_an_integer_past_the_range_in_a_query_string_is_a_400_page(client, db, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "is out of range" in response.get_data(as_text=True)


def test_an_integer_past_the_range_in_an_api_query_string_is_a_json_400(client, make, token_for):
    assert _json_error(client.get(f"/api/v1/ideas?category={BIG}"), 400)["field"] == "category"
    admin = token_for(make.user(role="admin"))
    error = _json_error(client.get(f"/api/v1/audit?target_id={BIG}", headers=admin), 400)
    assert error["field"] == "target_id"


def test_an_integer_past_the_range_in_json_is_a_400_naming_the_field(client, make, token_for):
    headers = token_for(make.user(reputation=100))
    category = make.category()
    body = {"title": "How do I export my invoices?", "body": "I looked under Billing and found nothing.",
            "category_id": int(BIG)}
    error = _json_error(client.post("/api/v1/threads", json=body, headers=headers), 400, "validation_error")
    assert error["field"] == "category_id"
    body["category_id"] = category.id
    assert client.post("/api/v1/threads", json=body, headers=headers).status_code == 201


def test_an_integer_past_the_range_in_a_form_is_a_400(client, make, login):
    asker = make.user()
    thread = make.thread(author=asker)
    login(asker)
    response = client.post(f"/threads/{thread.id}/accept", data={"post_id": BIG})
    assert response.status_code == 400
    assert "out of range" in response.get_data(as_text=True)


# -- NUL characters -----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/ask?title=%00", "/tags/a%00b", "/search?q=a%00b", "/questions?sort=%00",
                                  "/users?q%00=x"])
def test_a_nul_in_the_address_is_a_400_page(client, db, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_a_nul_in_an_api_address_is_a_json_400(client, db):
    assert "NUL" in _json_error(client.get("/api/v1/suggest?q=a%00b"), 400, "bad_request")["message"]


def test_a_nul_in_a_form_is_a_400_and_nothing_is_written(client, make, login, db):
    from community.models import Post

    author = make.user()
    thread = make.thread()
    login(author)
    before = db.session.query(Post).count()
    response = client.post(f"/threads/{thread.id}/reply", data={"body": "An answer \x00 long enough."})
    assert response.status_code == 400
    assert db.session.query(Post).count() == before


def test_a_nul_in_json_is_a_json_400(client, make, token_for):
    headers = token_for(make.user(reputation=100))
    thread = make.thread()
    response = client.post(f"/api/v1/threads/{thread.id}/posts", headers={**headers, "Content-Type": "application/json"},
                           data='{"body": "An answer \\u0000 long enough."}')
    assert "NUL" in _json_error(response, 400, "bad_request")["message"]


# -- JSON that cannot be stored or walked ---------------------------------------------------

@pytest.mark.parametrize("depth", [1000, 100_000])
def test_json_nested_deeply_is_a_json_400(client, make, token_for, depth):
    headers = {**token_for(make.user(reputation=100)), "Content-Type": "application/json"}
    response = client.post("/api/v1/threads", headers=headers, data="[" * depth + "]" * depth)
    assert "nested more than" in _json_error(response, 400, "bad_request")["message"]


def test_json_nested_to_the_limit_is_read(client, make, token_for):
    headers = {**token_for(make.user(reputation=100)), "Content-Type": "application/json"}
    nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    data = '{"title": "How do I export my invoices?", "body": "I looked and found nothing.", "x": %s}' % nested
    error = _json_error(client.post("/api/v1/threads", headers=headers, data=data), 400, "validation_error")
    assert error["field"] == "category_id"   # the body was read; only the category is missing


@pytest.mark.parametrize("raw", ['{"body": "\\ud800"}', '{"body": "ok \\udfff ok"}', '{"\\ud800": 1}',
                                 '{"body": NaN}', '{"body": Infinity}'])
def test_json_with_a_lone_surrogate_or_a_non_number_is_a_json_400(client, make, token_for, raw):
    headers = {**token_for(make.user(reputation=100)), "Content-Type": "application/json"}
    thread = make.thread()
    _json_error(client.post(f"/api/v1/threads/{thread.id}/posts", headers=headers, data=raw), 400, "bad_request")


def test_a_surrogate_pair_in_json_is_ordinary_text(client, make, token_for):
    headers = {**token_for(make.user(reputation=100)), "Content-Type": "application/json"}
    thread = make.thread()
    response = client.post(f"/api/v1/threads/{thread.id}/posts", headers=headers,
                           data=json.dumps({"body": "Works for me \U0001F600 after a restart."}))
    assert response.status_code == 201


def test_a_surrogate_encoded_in_a_form_or_query_never_becomes_a_surrogate(client, make, login):
    """Werkzeug never decodes invalid UTF-8 into a surrogate, so the answer can be stored and shown."""
    author = make.user()
    thread = make.thread()
    login(author)
    assert client.get("/search?q=%ED%A0%80").status_code == 200
    response = client.post(f"/threads/{thread.id}/reply", data="body=Restart%20it%20first%ED%A0%80%20then%20retry",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "Restart it first" in page.get_data(as_text=True)


# -- dates at the ends of the calendar ---------------------------------------------------

def test_extreme_dates_on_the_search_page_are_a_400_that_says_so(client, make):
    make.thread(title="Refund for a duplicate charge")
    response = client.get("/search?q=refund&from=0001-01-01&to=9999-12-31")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "is not a date between 1900-01-01 and 2999-12-31" in html
    assert client.get("/search?q=refund&from=1900-01-01&to=2999-12-31").status_code == 200


@pytest.mark.parametrize("query, field", [("since=0001-01-01", "since"), ("until=9999-12-31", "until"),
                                          ("since=9999-12-31&until=9999-12-31", "since")])
def test_extreme_dates_on_the_audit_api_are_a_json_400(client, make, token_for, query, field):
    headers = token_for(make.user(role="admin"))
    assert _json_error(client.get(f"/api/v1/audit?{query}", headers=headers), 400)["field"] == field
    assert client.get("/api/v1/audit?since=1900-01-01&until=2999-12-31", headers=headers).status_code == 200


def test_extreme_dates_on_the_audit_page_and_the_metrics_are_a_400(client, make, login, token_for):
    admin = make.user(role="admin")
    login(admin)
    assert client.get("/moderation/audit?until=9999-12-31").status_code == 400
    assert client.get("/analytics?from=0001-01-01").status_code == 400
    error = _json_error(client.get("/api/v1/metrics/deflection?to=9999-12-31", headers=token_for(admin)), 400)
    assert error["field"] == "to"


def test_a_suspension_of_a_huge_number_of_days_is_a_400(client, make, token_for):
    headers = token_for(make.user(role="admin"))
    target = make.user()
    response = client.post(f"/api/v1/users/{target.username}/suspend", headers=headers,
                           json={"reason": "Spam links", "until": 10**12})
    assert _json_error(response, 400)["field"] == "until"


# -- query parameters never become url_for's arguments -----------------------------------

def test_a_query_parameter_named_like_a_path_value_keeps_the_canonical_redirect(client, make):
    thread = make.thread()
    response = client.get(f"/threads/{thread.id}?thread_id=2&order=date")
    assert response.status_code == 301
    location = response.headers["Location"]
    assert location.startswith(f"/threads/{thread.id}/{thread.slug}?") or \
        f"/threads/{thread.id}/{thread.slug}?" in location
    assert "order=date" in location and "thread_id" not in location


def test_an_idea_query_parameter_named_like_a_path_value(client, make):
    from community.services.ideas import exchange

    idea = exchange.create_idea(make.user(), make.category(), "Offline mode please",
                                "Let me read my notes without a connection.")
    make.db.session.commit()
    response = client.get(f"/ideas/{idea.id}?idea_id=1&slug=x")
    assert response.status_code == 301
    assert f"/ideas/{idea.id}/{idea.slug}" in response.headers["Location"]
    assert "idea_id" not in response.headers["Location"]


def test_url_for_options_in_the_query_string_are_not_obeyed(client, make, login):
    thread = make.thread()
    response = client.get(f"/threads/{thread.id}?_external=1&_scheme=javascript&_anchor=x")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/threads/{thread.id}/{thread.slug}"
    agent = make.user(role="agent")
    login(agent)
    page = client.get("/tickets?ticket_id=1&_anchor=x&_external=1")
    assert page.status_code == 200


# -- every route, hostile values ---------------------------------------------------------

def _hostile_requests(key: str, rule, values: dict, slug: str):
    """(method, url, kwargs) with hostile values for one route, from its declared rule."""
    method, rule_path = key.split(" ", 1)

    def url(override):
        def sub(match):
            converter, name = match.group(1), match.group(2)
            if converter == "int" and "int" in override:
                return override["int"]
            if converter in (None, "string") and "str" in override:
                return override["str"]
            return str(slug if name == "slug" else values[name])
        return PARAM.sub(sub, rule_path)

    plain = url({})
    for override in ({"int": BIG}, {"str": "a%00b"}):
        if url(override) != plain:
            yield method, url(override), {}
    api = rule_path.startswith("/api/")
    if method == "GET":
        for query in (f"page={BIG}", f"category={BIG}", "q=a%00b", "from=0001-01-01&to=9999-12-31",
                      "thread_id=2&idea_id=1&ticket_id=1&slug=x&_external=1&_anchor=x", "q=%ED%A0%80"):
            yield method, f"{plain}?{query}", {}
        return
    def fresh() -> dict:  # file fields are a new file object each time (see _fill)
        return {k: _fill(v, values) for k, v in (rule.body or {}).items()}

    def big() -> dict:
        return {k: (int(BIG) if isinstance(v, int) or (isinstance(v, str) and v.isdigit()) else v)
                for k, v in fresh().items()}

    def nul() -> dict:
        return {k: (v + "\x00" if isinstance(v, str) else v) for k, v in fresh().items()}

    if api:
        for data in (json.dumps(big()), json.dumps(nul()), "[" * 1000 + "]" * 1000, '{"body": "\\ud800"}'):
            yield method, plain, {"data": data, "headers": {**rule.headers, "Content-Type": "application/json"}}
    else:
        texts = [k for k, v in (rule.body or {}).items() if not isinstance(v, bytes)]
        for data in (big(), nul(), "&".join(f"{k}=%ED%A0%80" for k in texts) or "x=%ED%A0%80"):
            yield method, plain, {"data": data, "headers": rule.headers,
                                  **({"content_type": "application/x-www-form-urlencoded"}
                                     if isinstance(data, str) else {})}


@pytest.mark.usefixtures("db")
def test_no_route_answers_hostile_input_with_a_5xx(app, make, db, token_for):
    """Every route of the rule table, as admin and anonymous: path ids past the range, NUL in
    paths and parameters, extreme dates, url_for's own names, and for writes bodies with ids
    past the range, NULs, deep nesting and lone surrogates."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a bug is a 500 answer here, as in production
    visitors = Visitors(app, make, db, token_for)
    scene = Scene(make, db, visitors.people)
    values = scene.values()
    slugs = {key: scene.slug_for(key) for key in RULES}  # before the writes delete what they name
    wrong = []
    for key, rule in sorted(RULES.items()):
        route_values = {**values, **{k: _fill(v, values) for k, v in rule.path.items()}}
        for role in ("admin", "anonymous"):
            for method, url, kwargs in _hostile_requests(key, rule, route_values, slugs[key]):
                client = visitors.sign_in(role)
                headers = {**kwargs.pop("headers", {}), **(visitors.tokens.get(role, {}) if url.startswith("/api/") else {})}
                response = client.open(url, method=method, headers=headers, **kwargs)
                if response.status_code >= 500:
                    wrong.append(f"{role} {method} {url} {str(kwargs)[:80]}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
