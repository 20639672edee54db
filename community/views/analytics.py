"""The analytics page: deflection KPIs, charts over time, content gaps, CSV export."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required

from .. import permissions
from ..models import utcnow
from ..services.deflection import metrics
from ..services.errors import ValidationError
from . import charts

bp = Blueprint("analytics", __name__)

CSV_COLUMNS = ("date", "sessions", "sessions_with_suggestions", "confirmed_deflections",
               "inferred_deflections", "deflection_rate", "deflection_rate_with_inferred",
               "sessions_with_question", "sessions_with_support_request",
               "questions", "answered", "solved", "answered_rate", "solved_rate")


def _allowed() -> None:
    if not permissions.can_view_metrics(current_user):
        abort(403)


def _range():
    """The requested range, or the default one with the error to show."""
    try:
        return (*metrics.parse_range(request.args.get("from"), request.args.get("to")), None)
    except ValidationError as exc:
        return (*metrics.parse_range(None, None), exc)


@bp.get("/analytics")
@login_required
def dashboard():
    _allowed()
    start, end, error = _range()
    report = metrics.deflection_report(start, end, gaps_limit=10, threads_limit=8)
    today = utcnow().date()
    presets = [(f"Last {n} days", (today - timedelta(days=n - 1)).isoformat(), today.isoformat())
               for n in (7, 30, 90, 365)]
    return render_template("analytics/dashboard.html", report=report, start=start, end=end,
                           error=error, charts=_charts(report["daily"]), presets=presets,
                           csv_columns=CSV_COLUMNS), (400 if error else 200)


def _charts(daily: list[dict]) -> dict:
    labels = [d["date"] for d in daily]
    col = lambda key: [d[key] for d in daily]  # noqa: E731
    return {
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
    """The daily series of the range as CSV (one row per UTC day)."""
    _allowed()
    try:
        start, end = metrics.parse_range(request.args.get("from"), request.args.get("to"))
    except ValidationError as exc:
        return Response(exc.message + "\n", status=400, mimetype="text/plain")
    report = metrics.deflection_report(start, end)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for day in report["daily"]:
        writer.writerow(["" if day[c] is None else day[c] for c in CSV_COLUMNS])
    filename = f"deflection-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


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


@bp.app_template_filter("pct")
def pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
