"""Suggestions while typing (public) and the deflection metrics (staff)."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from .. import permissions
from ..extensions import db
from ..permissions import METRICS_READERS
from ..services.deflection import ask_sessions, breakdowns, guards, metrics, suggestions
from ..services.errors import PermissionDenied, ValidationError
from ..services.learning import explaining
from .auth import api_user
from .spec import endpoint, schema

ALL_TYPES = ("thread", "article", "idea")

SUGGESTION = schema("Suggestion", {
    "type": "object", "required": ["type", "id", "title", "url", "solved", "snippet", "score"],
    "properties": {
        "type": {"type": "string", "enum": ["thread", "article", "idea"]}, "id": {"type": "integer"},
        "title": {"type": "string"}, "url": {"type": "string"}, "solved": {"type": "boolean"},
        "snippet": {"type": "string", "description": "Plain text; for a solved thread, from the accepted answer."},
        "score": {"type": "number"},
        "explain": {"type": "object", "description": "Only with `explain=1` (staff): the stems matched, "
                                                     "by field and weight, and the learned evidence.",
                    "properties": {"matched": {"type": "array", "items": {"type": "object"}},
                                   "learned": {"type": "object", "nullable": True}}}},
})
SUGGEST_RESPONSE = {"type": "object", "required": ["results"], "properties": {
    "results": {"type": "array", "items": SUGGESTION, "maxItems": 10},
    "holdout": {"type": "boolean", "description": "Present (true) when the session is in the holdout arm: "
                                                  "it is shown no suggestions."}}}

METRICS_RESPONSE = schema("DeflectionMetrics", {
    "type": "object",
    "description": "Definitions in docs/metrics.md. Rates are fractions from 0 to 1, null without "
                   "sessions with suggestions.",
    "properties": {
        "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
        "time_zone": {"type": "string", "description": "REPORT_TIME_ZONE: the days are this zone's."},
        "sessions": {"type": "integer"}, "sessions_with_suggestions": {"type": "integer"},
        "confirmed_deflections": {"type": "integer"}, "inferred_deflections": {"type": "integer"},
        "inferred_pending": {"type": "integer"},
        "deflection_rate": {"type": "number", "nullable": True},
        "deflection_rate_with_inferred": {"type": "number", "nullable": True},
        "held_deflections": {"type": "integer"}, "failed_deflections": {"type": "integer"},
        "contacts_avoided_correlational": {"type": "integer",
                                           "description": "Confirmed + inferred deflections (not causal)."},
        "estimated_savings": {"type": "number"}, "estimated_savings_confirmed": {"type": "number"},
        "holdout_share": {"type": "number"}, "holdout_sessions": {"type": "integer"},
        "holdout_contact_rate": {"type": "number", "nullable": True},
        "suggestion_sessions": {"type": "integer"},
        "suggestion_contact_rate": {"type": "number", "nullable": True},
        "incremental_effect": {"type": "number", "nullable": True,
                               "description": "Holdout contact rate − suggestions contact rate."},
        "incremental_effect_ci95": {"type": "array", "items": {"type": "number"}, "nullable": True},
        "contacts_avoided": {"type": "number", "nullable": True,
                             "description": "Incremental effect × suggestion sessions (causal)."},
        "contacts_avoided_ci95": {"type": "array", "items": {"type": "number"}, "nullable": True},
        "savings_ci95": {"type": "array", "items": {"type": "number"}, "nullable": True},
        "excluded_traffic": {"type": "object"},
        "failed_sessions": {"type": "array", "items": {"type": "object"}},
        "cost_per_contact": {"type": "number"}, "currency": {"type": "string"},
        "health": {"type": "object"}, "daily": {"type": "array", "items": {"type": "object"}},
        "weekly": {"type": "array", "items": {"type": "object"},
                   "description": "ISO weeks (from Monday): the daily counts summed, rates from the sums."},
        "monthly": {"type": "array", "items": {"type": "object"}},
        "by_category": {"type": "array", "items": {"type": "object"},
                        "description": "Deflections by the category of the thread they credit."},
        "by_tag": {"type": "array", "items": {"type": "object"}},
        "by_content_type": {"type": "object", "description": "Deflections crediting a thread or an article: "
                                                             "confirmed, inferred, held, failed."},
        "top_articles": {"type": "array", "items": {"type": "object"}},
        "failing_articles": {"type": "array", "items": {"type": "object"},
                             "description": "Articles whose readers most often contacted support afterwards."},
        "filter": {"type": "object", "description": "Only with `category` or `tag`: what was filtered on "
                                                    "and the deflections crediting matching threads."},
        "previous_period": {"type": "object",
                            "description": "The same figures for the period of the same length just "
                                           "before, and `change` (this period − that one)."},
        "content_gaps": {"type": "array", "items": {"type": "object"}},
        "top_threads": {"type": "array", "items": {"type": "object"}},
    },
})


def _types() -> tuple[str, ...]:
    """``type=thread,article,idea`` (or repeated); unknown values are ignored."""
    raw = ",".join(request.args.getlist("type"))
    types = tuple(t for t in ALL_TYPES if t in {p.strip() for p in raw.split(",")})
    return types or ALL_TYPES


def _caller_session(session_id: str | None):
    user = api_user() or (current_user if current_user.is_authenticated else None)
    return ask_sessions.request_session(session_id, user=user)


@endpoint("/suggest", "GET", summary="Existing answers for what a visitor is typing",
          auth="public", response=SUGGEST_RESPONSE, errors=(400, 403, 429, 503),
          params=[
              {"name": "q", "in": "query", "required": True, "schema": {"type": "string"},
               "description": "What was typed; any text (empty, long, odd) gives results or []; "
                              "a search failure is a 503, never []."},
              {"name": "session", "in": "query", "required": False, "schema": {"type": "string"},
               "description": "The ask session (data-ask-session); records `suggestions_shown` "
                              "once per distinct query when it is the caller's session."},
              {"name": "type", "in": "query", "required": False, "schema": {"type": "string"},
               "description": "any of thread, article, idea, comma-separated (default: all three)."},
              {"name": "limit", "in": "query", "required": False,
               "schema": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5}},
              {"name": "explain", "in": "query", "required": False, "schema": {"type": "integer", "enum": [0, 1]},
               "description": "1: each result says why it was suggested (staff only; 403 otherwise)."}],
          description="Up to 5 (or `limit`, at most 10) threads, official knowledge-base articles and ideas, best first; solved threads carry a snippet of "
                      "their accepted answer. Rate limited (SUGGEST_RATE_LIMIT).")
def suggest():
    try:
        suggestions.check_limit()
    except guards.Refused as exc:
        guards.count_refusal(exc.reason)
        db.session.commit()
        raise
    limit, explain = _limit(), request.args.get("explain", "0") == "1"
    user = api_user() or (current_user if current_user.is_authenticated else None)
    if explain and not (user is not None and user.is_staff):
        raise PermissionDenied("Only staff may ask why a result was suggested.")
    session = _caller_session(request.args.get("session"))
    results, holdout = suggestions.suggestions_for_session(session, request.args.get("q", ""),
                                                          types=_types(), limit=limit)
    if session is not None:
        db.session.commit()
    body = {"results": [_result_json(r) for r in results]}
    if explain and results:
        for item, why in zip(body["results"], explaining.explain(request.args.get("q", ""), results)):
            item["explain"] = why
    if holdout:
        body["holdout"] = True
    return jsonify(body)


def _limit() -> int:
    """``limit`` (1 to 10, default 5); anything else is a 400."""
    raw = request.args.get("limit")
    if raw is None:
        return 5
    if not raw.isdigit() or not 1 <= int(raw) <= 10:
        raise ValidationError("limit must be a whole number from 1 to 10.", field="limit")
    return int(raw)


def _result_json(item: dict) -> dict:
    return {"type": item.get("type"), "id": item.get("id"), "title": item.get("title", ""),
            "url": item.get("url", ""), "solved": bool(item.get("solved")),
            "snippet": item.get("snippet") or "", "score": float(item.get("score") or 0)}


@endpoint("/metrics/deflection", "GET", summary="Deflection and community-health metrics",
          roles=METRICS_READERS, response=METRICS_RESPONSE, errors=(400, 401, 403),
          params=[
              {"name": "from", "in": "query", "required": False,
               "schema": {"type": "string", "format": "date"},
               "description": "First day (YYYY-MM-DD) in REPORT_TIME_ZONE (UTC by default), inclusive; "
                              "default 29 days before `to`."},
              {"name": "to", "in": "query", "required": False,
               "schema": {"type": "string", "format": "date"},
               "description": "Last day (YYYY-MM-DD), inclusive; default today (a later day is today)."},
              {"name": "category", "in": "query", "required": False, "schema": {"type": "string"},
               "description": "A category's slug or id: the tables, health and `filter` cover deflections "
                              "crediting its threads and the questions asked in it (unknown: 400)."},
              {"name": "tag", "in": "query", "required": False, "schema": {"type": "string"},
               "description": "A tag's name, likewise (with `category`: threads in both)."}],
          description="Sessions are counted on the day they started in REPORT_TIME_ZONE (UTC by "
                      "default; `time_zone` in the answer). See docs/metrics.md.")
def deflection_metrics():
    if not permissions.can_view_metrics(api_user()):
        raise PermissionDenied("Your account may not read metrics.")
    start, end = metrics.parse_range(request.args.get("from"), request.args.get("to"))
    flt = breakdowns.parse_filter(request.args.get("category"), request.args.get("tag"))
    return jsonify(metrics.deflection_report(start, end, flt=flt))
