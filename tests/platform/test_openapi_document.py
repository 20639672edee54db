"""The OpenAPI document is valid OpenAPI 3 and describes every API route of the app."""
from __future__ import annotations

import re

from openapi_spec_validator import validate


def test_openapi_document_is_valid(client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert document["openapi"].startswith("3.0")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_api_route_is_documented_with_its_methods(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routed.add((path, method.lower()))
    assert routed, "no API routes found"
    assert routed - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routed == set(), "documented operations with no route"


def test_issue_endpoints_are_described_with_errors(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    expected = {
        ("/api/v1/categories", "get"), ("/api/v1/categories", "post"), ("/api/v1/threads", "post"),
        ("/api/v1/threads/{thread_id}", "get"), ("/api/v1/threads/{thread_id}/posts", "post"),
        ("/api/v1/posts/{post_id}/vote", "post"), ("/api/v1/threads/{thread_id}/accept", "post"),
        ("/api/v1/users/{username}", "get"),
    }
    for path, method in expected:
        assert method in paths.get(path, {}), (path, method)
    create = paths["/api/v1/categories"]["post"]
    assert {"201", "400", "401", "403", "409", "429"} <= set(create["responses"])
    assert create["security"] == [{"bearerAuth": []}]
    assert paths["/api/v1/categories"]["get"]["security"][0] == {}
    vote = paths["/api/v1/posts/{post_id}/vote"]["post"]
    assert vote["requestBody"]["content"]["application/json"]["schema"]["properties"]["value"]["enum"] == [1, -1, 0]
    assert vote["parameters"][0] == {"name": "post_id", "in": "path", "required": True, "schema": {"type": "integer"}}
