"""Endpoint registration that documents as it routes.

``endpoint(...)`` both adds the route to the v1 blueprint and records its
OpenAPI description, so the document at ``/api/v1/openapi.json`` cannot
forget an endpoint.  Auth and role checks happen here too, before the view:

- ``auth="public"``: no token needed (a token, if sent, is still read);
- ``auth="token"``: a valid bearer token is required (401 otherwise);
- ``roles=(...)``: the caller's role must be one of these and the account not
  suspended (403 otherwise).
"""
from __future__ import annotations

import re
from functools import wraps

from flask import Blueprint

from ..services.errors import NotAuthenticated, PermissionDenied
from .auth import load_token_user

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: Every endpoint's description, in registration order.
ENDPOINTS: list[dict] = []
#: Named component schemas (``{"$ref": "#/components/schemas/NAME"}``).
SCHEMAS: dict[str, dict] = {}

ERROR_STATUSES = {
    400: "Validation error (the `error.field` names the offending field)",
    401: "Missing or invalid bearer token",
    403: "The caller's role or reputation does not allow this",
    404: "Not found",
    409: "Conflict with the current state",
    429: "Rate limit exceeded",
    503: "A backing service (search) failed; retry shortly (not the same as an empty result)",
}


def schema(name: str, definition: dict) -> dict:
    """Register a component schema and return a reference to it."""
    SCHEMAS[name] = definition
    return ref(name)


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def endpoint(rule: str, method: str, *, summary: str, auth: str = "token", roles=None,
             body: dict | None = None, response: dict | None = None, status: int = 200,
             params: list[dict] | None = None, errors=(400, 401, 403, 404),
             produces: str = "application/json", tag: str = "community", description: str = "",
             also: dict[int, str] | None = None):
    """Route ``rule`` on the API blueprint and document it.

    ``also`` documents other success statuses that answer with the same ``response`` schema
    (``{200: "Already counted"}`` beside a 201), so the document lists every status sent."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = load_token_user()
            if auth == "token" and user is None:
                raise NotAuthenticated("Send a valid token: Authorization: Bearer TOKEN.")
            if auth == "token" and user.is_suspended and method != "GET":
                raise PermissionDenied("Your account is suspended.")
            if roles is not None and (user is None or user.role not in roles):
                raise PermissionDenied(f"Only {', '.join(roles)} may do this.")
            if roles is not None and user.is_suspended:  # staff pages refuse them too
                raise PermissionDenied("Your account is suspended.")
            return view(*args, **kwargs)

        endpoint_name = f"{view.__module__.rsplit('.', 1)[-1]}_{view.__name__}"
        bp.add_url_rule(rule, endpoint=endpoint_name, view_func=wrapped, methods=[method])
        ENDPOINTS.append({
            "rule": rule, "method": method.lower(), "summary": summary, "auth": auth,
            "roles": roles, "body": body, "response": response, "status": status,
            "params": params or [], "errors": tuple(errors), "produces": produces,
            "tag": tag, "description": description, "operation_id": endpoint_name,
            "also": dict(also or {}),
        })
        return wrapped

    return decorator


_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _openapi_path(rule: str) -> tuple[str, list[dict]]:
    params = []
    for converter, name in _PATH_PARAM.findall(rule):
        kind = "integer" if converter == "int" else "string"
        params.append({"name": name, "in": "path", "required": True, "schema": {"type": kind}})
    return "/api/v1" + _PATH_PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), params


def openapi_document(server_url: str = "/") -> dict:
    """The OpenAPI 3.0 document for every registered endpoint."""
    paths: dict[str, dict] = {}
    for ep in ENDPOINTS:
        path, path_params = _openapi_path(ep["rule"])
        op: dict = {
            "operationId": ep["operation_id"],
            "summary": ep["summary"],
            "tags": [ep["tag"]],
            "parameters": path_params + ep["params"],
            "responses": {},
        }
        if ep["description"]:
            op["description"] = ep["description"]
        if ep["auth"] == "token":
            op["security"] = [{"bearerAuth": []}]
        else:
            op["security"] = [{}, {"bearerAuth": []}]
        if ep["roles"]:
            op["description"] = (op.get("description", "") + f"\n\nRoles: {', '.join(ep['roles'])}.").strip()
        if ep["body"] is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": ep["body"]}}}
        ok = {"description": "Success"}
        if ep["response"] is not None:
            ok["content"] = {ep["produces"]: {"schema": ep["response"]}}
        op["responses"][str(ep["status"])] = ok
        for code, meaning in ep["also"].items():
            op["responses"][str(code)] = {**ok, "description": meaning}
        errors = set(ep["errors"]) | {429} if ep["method"] != "get" else set(ep["errors"])
        if ep["auth"] != "token":
            errors.discard(401)
        if ep["body"] is not None:
            errors.add(400)
        for code in sorted(errors):
            op["responses"][str(code)] = {
                "description": ERROR_STATUSES[code],
                "content": {"application/json": {"schema": ref("Error")}},
            }
        paths.setdefault(path, {})[ep["method"]] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "Support Community API", "version": "1.0.0",
                 "description": "JSON API v1. Authenticate with `Authorization: Bearer TOKEN` "
                                "(`flask --app community users token USERNAME`). Errors are "
                                "`{\"error\": {\"code\", \"message\", \"field\"}}`."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }


schema("Error", {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "field": {"type": "string", "nullable": True}}}},
})
