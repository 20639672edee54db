"""The analytics page: deflection KPIs, charts over time, content gaps, CSV export."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required

from .. import permissions
from ..models import utcnow
from ..services.deflection import breakdowns, guards, metrics
from ..services.errors import ValidationError
from . import charts

bp = Blueprint("analytics", __name__)

CSV_COLUMNS = ("date", "sessions", "sessions_with_suggestions", "confirmed_deflections",
               "inferred_deflections", "held_deflections", "failed_deflections", "deflection_rate",
               "deflection_rate_with_inferred", "sessions_with_question", "sessions_with_support_request",
               "holdout_sessions", "suggestion_sessions", "holdout_contact_rate", "suggestion_contact_rate",
               "questions", "answered", "solved", "answered_rate", "solved_rate")


#: The page's tables, each a section of the CSV after the daily rows (a section is left out when empty).
LIST_SECTIONS = ("weekly", "monthly", "by_category", "by_tag", "top_threads", "top_articles",
                 "failing_articles", "failed_sessions", "content_gaps")


def _allowed() -> None:
    if not permissions.can_view_metrics(current_user):
        abort(403)


def _range():
    """The requested range and filter, or the default ones with the error to show."""
    try:
        start, end = metrics.parse_range(request.args.get("from"), request.args.get("to"))
        return start, end, _filter(), None
    except ValidationError as exc:
        return (*metrics.parse_range(None, None), breakdowns.Filter(), exc)


def _filter() -> "breakdowns.Filter":
    return breakdowns.parse_filter(request.args.get("category"), request.args.get("tag"))


@bp.get("/analytics")
@login_required
def dashboard():
    _allowed()
    start, end, flt, error = _range()
    report = metrics.deflection_report(start, end, gaps_limit=10, threads_limit=8, flt=flt)
    today = utcnow().date()
    presets = [(f"Last {n} days", (today - timedelta(days=n - 1)).isoformat(), today.isoformat())
               for n in (7, 30, 90, 365)]
    return render_template("analytics/dashboard.html", report=report, start=start, end=end,
                           error=error, charts=_charts(report["daily"]), presets=presets, flt=flt,
                           categories=breakdowns.categories(),
                           csv_columns=CSV_COLUMNS, refusal_labels=guards.REFUSAL_REASONS), (400 if error else 200)


def _charts(daily: list[dict]) -> dict:
    labels = [d["date"] for d in daily]
    col = lambda key: [d[key] for d in daily]  # noqa: E731
    return {
        "arms": charts.line_chart(labels, [("Holdout (no suggestions)", col("holdout_contact_rate")),
                                           ("With suggestions", col("suggestion_contact_rate"))],
                                  percent=True, title="Share of ask sessions that contacted, by arm"),
        "arms_legend": charts.legend(["Holdout (no suggestions)", "With suggestions"]),
        "sessions": charts.line_chart(labels, [("Ask sessions", col("sessions")),
                                               ("With suggestions", col("sessions_with_suggestions"))],
                                      title="Ask sessions per day"),
        "sessions_legend": charts.legend(["Ask sessions", "With suggestions"]),
        "deflections": charts.bar_chart(labels, [("Confirmed", col("confirmed_deflections")),
                                                 ("Inferred", col("inferred_deflections"))],
                                        title="Deflections per day"),
        "deflections_legend": charts.legend(["Confirmed", "Inferred"]),
        "rate": charts.line_chart(labels, [("Confirmed", col("deflection_rate")),
                                           ("Confirmed + inferred", col("deflection_rate_with_inferred"))],
                                  percent=True, title="Deflection rate per day"),
        "rate_legend": charts.legend(["Confirmed", "Confirmed + inferred"]),
        "contacts": charts.bar_chart(labels, [("Posted a question", col("sessions_with_question")),
                                              ("Wrote to support", col("sessions_with_support_request"))],
                                     title="Ask sessions that contacted, per day"),
        "contacts_legend": charts.legend(["Posted a question", "Wrote to support"]),
        "questions": charts.bar_chart(labels, [("Questions", col("questions"))],
                                      title="Questions asked per day"),
        "health": charts.line_chart(labels, [("Answered", col("answered_rate")),
                                             ("Solved", col("solved_rate"))],
                                    percent=True, title="Share of questions answered and solved"),
        "health_legend": charts.legend(["Answered", "Solved"]),
    }


@bp.get("/analytics/export.csv")
@login_required
def export_csv():
    """Every figure of the page: the summary (``figure,value``, starting with ``generated_at``),
    one row per day, then each table of the page (``LIST_SECTIONS``)."""
    _allowed()
    try:
        start, end = metrics.parse_range(request.args.get("from"), request.args.get("to"))
        flt = _filter()
    except ValidationError as exc:
        return Response(exc.message + "\n", status=400, mimetype="text/plain")
    report = metrics.deflection_report(start, end, flt=flt)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("figure", "value"))
    writer.writerow(("generated_at", report["as_of"]))
    for key, value in summary_rows(report):
        writer.writerow((key, "" if value is None else value))
    writer.writerow(())
    writer.writerow(CSV_COLUMNS)
    for day in report["daily"]:
        writer.writerow(["" if day[c] is None else day[c] for c in CSV_COLUMNS])
    for section in LIST_SECTIONS:
        rows = report[section]
        if rows:
            writer.writerow(())
            writer.writerow([section, *list(rows[0])[1:]])
            for row in rows:
                writer.writerow([_cell(v) for v in row.values()])
    filename = f"deflection-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _cell(value) -> str:
    """A CSV cell: empty for null, lists joined with "; " (a failed session's queries and threads)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return value


def summary_rows(report: dict, prefix: str = ""):
    """Every scalar of the report, nested keys joined with dots (lists of two: ``_low``/``_high``)."""
    for key, value in report.items():
        if key in ("daily", "as_of", *LIST_SECTIONS):
            continue
        name = prefix + key
        if isinstance(value, dict):
            yield from summary_rows(value, name + ".")
        elif key.endswith("_ci95"):  # [low, high], or null without enough data
            yield name + "_low", value[0] if value else None
            yield name + "_high", value[1] if value else None
        elif value is None or isinstance(value, (int, float, str, bool)):
            yield name, value


@bp.app_template_filter("duration")
def duration(seconds) -> str:
    """3 h 20 min, 2 d 4 h, 45 min; an em dash for no data."""
    if seconds is None:
        return "—"
    minutes = int(seconds) // 60
    if minutes < 60:
        return f"{max(minutes, 1) if seconds else 0} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@bp.app_template_filter("signed")
def signed(value) -> str:
    """A count of contacts, rounded, with a minus sign for a negative one."""
    return "—" if value is None else f"{round(value):,}"


@bp.app_template_filter("delta")
def delta(value) -> str:
    """A change against the previous period: "+3", "−2", "±0"."""
    if value is None:
        return "—"
    value = round(value)
    return "±0" if value == 0 else (f"+{value:,}" if value > 0 else f"−{-value:,}")


@bp.app_template_filter("pct")
def pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
