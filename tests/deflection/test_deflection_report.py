"""The report as a support manager receives it: the API's fields, the page's headline, the CSV.

One day scripted through HTTP (CSRF and rate limits on, a frozen clock): both holdout arms, a
confirmed deflection that held, an inferred one that failed, one pending, a session whose page
never ran its script, a bot.  Every figure is checked with its exact value, in the API, on
``/analytics`` and in the CSV, which must agree.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from community.extensions import db
from community.services.accounts import users
from tests.deflection.conftest import minutes

DAY = "from=2026-03-02&to=2026-03-02"


@pytest.fixture()
def scripted_day(site):
    """The day of the module docstring; returns (thread, failed session id, staff browser, token)."""
    site.app.config["DEFLECTION_MIN_HOLDOUT"] = 4
    thread = site.thread("How do I reset my password on the mobile app?",
                         "The reset link in the app does nothing when I tap it.")
    site.app.config["DEFLECTION_HOLDOUT"] = 1.0
    for n in range(4):                                   # holdout: 4 sessions, all write to support
        site.at(minutes(n))
        visitor = site.visitor()
        assert visitor.contact(visitor.open_page("/support/contact")).status_code == 302
    site.app.config["DEFLECTION_HOLDOUT"] = 0.0
    site.at(minutes(10))
    held = site.visitor()                                # S1: confirmed, held
    s1 = held.open_page()
    held.suggest(s1, "reset password mobile")
    held.open(s1, thread.id)
    assert held.confirm(s1, thread.id).get_json()["counted"] is True
    site.at(minutes(60))
    left = site.visitor()                                # S2: opened and left: inferred ...
    s2 = left.open_page()
    left.suggest(s2, "reset password mobile")
    left.open(s2, thread.id)
    site.at(minutes(120))                                # ... then wrote to support: failed (S3 contacted)
    assert left.contact(left.open_page("/support/contact")).status_code == 302
    site.at(minutes(180))
    browsing = site.visitor()                            # S4: shown suggestions, opened none
    browsing.suggest(browsing.open_page(), "reset password mobile")
    script = site.visitor()                              # X: never ran the page's script: excluded
    x = script.open_page(beacon=False)
    script.suggest(x, "reset password mobile")
    script.open(x, thread.id)
    script.confirm(x, thread.id)
    assert site.visitor(agent="Mozilla/5.0 (compatible; bingbot/2.0)").open_page(beacon=False) == ""
    site.at(datetime(2026, 3, 2, 23, 50))
    late = site.visitor()                                # S5: opened at 23:50: pending at 00:10
    s5 = late.open_page()
    late.suggest(s5, "reset password mobile")
    late.open(s5, thread.id)
    staff = site.user(role="agent")
    token = users.issue_token(staff)
    db.session.commit()
    browser = site.visitor()
    browser.login(staff)
    site.at(datetime(2026, 3, 3, 0, 10))
    return thread, s2, browser, token


def test_the_api_gives_every_figure_of_the_issue_with_its_exact_value(site, scripted_day):
    thread, failed, _, token = scripted_day
    body = site.app.test_client().get(f"/api/v1/metrics/deflection?{DAY}",
                                      headers={"Authorization": f"Bearer {token}"}).get_json()
    # correlational: the 4 holdout sessions and S1..S5 (X excluded); with suggestions S1, S2, S4, S5
    assert (body["sessions"], body["sessions_with_suggestions"]) == (9, 4)
    assert (body["confirmed_deflections"], body["inferred_deflections"], body["inferred_pending"]) == (1, 1, 1)
    assert (body["held_deflections"], body["failed_deflections"]) == (1, 1)
    assert (body["deflection_rate"], body["deflection_rate_with_inferred"]) == (0.25, 0.5)
    assert (body["estimated_savings"], body["estimated_savings_confirmed"], body["estimated_savings_held"]) == (
        50.0, 25.0, 25.0)
    assert [(f["session"], f["kind"], f["opened_threads"]) for f in body["failed_sessions"]] == [
        (failed, "inferred", [thread.id])]
    x = body["excluded_traffic"]
    assert (x["excluded_sessions"], x["excluded_by_reason"], x["refused_by_reason"]) == (
        1, {"no_script": 1}, {"bot": 1})
    # causal, every session by intention to treat: holdout 4 of 4 contacted; suggestions
    # S1..S5 and X (6), of which S3 contacted
    assert (body["holdout_share"], body["holdout_sessions"], body["holdout_contact_rate"]) == (0.0, 4, 1.0)
    assert (body["suggestion_sessions"], body["suggestion_contact_rate"]) == (6, round(1 / 6, 4))
    assert body["incremental_effect"] == 0.8333 and body["incremental_effect_ci95"] == [0.2029, 0.9699]
    assert body["contacts_avoided"] == 5.0 and body["contacts_avoided_ci95"] == [1.2, 5.8]
    assert body["savings"] == 125.0 and body["savings_ci95"] == [30.43, 145.49]


def test_analytics_leads_with_the_interval_in_words_and_charts_both_arms(site, scripted_day):
    _, _, browser, _ = scripted_day
    page = browser.get(f"/analytics?{DAY}").data.decode()
    assert ("Suggestions prevented between <strong>1</strong> and <strong>6</strong> support contacts "
            "in this period, 95&nbsp;% confidence.") in page
    assert "Holdout: 4 sessions shown no suggestions, 100.0% contacted; with suggestions: 6 sessions, 16.7% contacted" in page
    assert "Savings 30 to 145 USD." in page
    assert "25 USD" in page and "1 confirmed × 25.00 (the conservative figure)" in page
    assert '<div class="value">1–2</div>' in page   # deflections as a range: confirmed to with inferred
    chart = page.split("Contact rate: holdout vs suggestions", 1)[1].split("</figure>", 1)[0]
    assert "2026-03-02: Holdout (no suggestions) 100%" in chart and "2026-03-02: With suggestions 17%" in chart
    assert "1 sessions excluded · 1 whose page never ran its script" in page


def test_the_csv_has_every_figure_of_the_page_and_when_it_was_generated(site, scripted_day):
    thread, failed, browser, token = scripted_day
    api = site.app.test_client().get(f"/api/v1/metrics/deflection?{DAY}",
                                     headers={"Authorization": f"Bearer {token}"}).get_json()
    export = browser.get(f"/analytics/export.csv?{DAY}")
    assert export.mimetype == "text/csv" and "deflection-2026-03-02-2026-03-02.csv" in export.headers[
        "Content-Disposition"]
    sections = export.data.decode().strip().split("\n\n")
    summary = dict(row for row in csv.reader(io.StringIO(sections[0])))
    assert summary["generated_at"] == "2026-03-03T00:10:00Z"
    for key in ("sessions", "inferred_pending", "held_deflections", "failed_deflections", "estimated_savings_confirmed",
                "holdout_sessions", "suggestion_sessions", "holdout_contact_rate", "suggestion_contact_rate",
                "incremental_effect", "contacts_avoided"):
        assert summary[key] == str(api[key]), key
    assert (summary["incremental_effect_ci95_low"], summary["incremental_effect_ci95_high"]) == ("0.2029", "0.9699")
    assert (summary["savings_ci95_low"], summary["savings_ci95_high"]) == ("30.43", "145.49")
    assert summary["excluded_traffic.excluded_by_reason.no_script"] == "1"
    assert summary["excluded_traffic.refused_by_reason.bot"] == "1"
    assert summary["health.median_time_to_first_reply_seconds"] == ""   # no reply yet: empty, not 0
    assert summary["previous_period.from"] == "2026-03-01"
    tables = {rows[0][0]: rows for rows in (list(csv.reader(io.StringIO(s))) for s in sections[1:])}
    assert tables["date"][1][:5] == ["2026-03-02", "9", "4", "1", "1"]
    assert tables["failed_sessions"] == [["failed_sessions", "started_at", "kind", "queries", "opened_threads",
                                          "opened_articles"],
                                         [failed, "2026-03-02T10:00:00Z", "inferred", "reset password mobile",
                                          str(thread.id), ""]]
    assert [row[:2] + row[3:] for row in tables["top_threads"][1:]] == [
        [str(thread.id), thread.title, "False", "1", "1", "2"]]
    # S1, S2, S4 and S5 searched it (X is excluded); only S4 opened nothing
    assert [row[:4] for row in tables["content_gaps"][1:]] == [["reset password mobile", "4", "1", "0"]]


def test_filtering_by_category_and_tag_in_the_api_the_page_and_the_csv(site):
    from community.services.forum import threads as forum_threads

    billing, sync = site.category(), site.category()
    pdf = forum_threads.create_thread(site.user(), billing, "Invoices do not download as a PDF file",
                                      "Clicking download on an invoice gives an empty page.", "pdf invoices")
    db.session.commit()
    phone = site.thread("Notes stop syncing on my phone", "Since the update the notes never sync.",
                        category=sync)

    def deflect(at, thread, query, confirm=True):
        site.at(at)
        visitor = site.visitor()
        sid = visitor.open_page()
        assert [r["id"] for r in visitor.suggest(sid, query)["results"]] == [thread.id]
        visitor.open(sid, thread.id)
        if confirm:
            assert visitor.confirm(sid, thread.id).status_code == 200
        return visitor

    deflect(minutes(0), pdf, "invoices pdf download")                    # billing/pdf: confirmed, held
    deflect(minutes(5), pdf, "invoices pdf download", confirm=False)     # billing/pdf: inferred, held
    failing = deflect(minutes(10), phone, "notes syncing phone")         # sync: confirmed, then fails
    site.at(minutes(60))
    assert failing.contact(failing.open_page("/support/contact")).status_code == 302
    staff = site.user(role="agent")
    token = users.issue_token(staff)
    db.session.commit()
    site.at(minutes(600))

    def api(query, status=200):
        response = site.app.test_client().get(f"/api/v1/metrics/deflection?{DAY}&{query}",
                                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status
        return response.get_json()

    whole = api("")
    assert "filter" not in whole and (whole["confirmed_deflections"], whole["inferred_deflections"]) == (2, 1)
    by_billing = api(f"category={billing.slug}")
    assert by_billing["filter"] == {
        "category": billing.slug, "tag": None, "deflections": 2, "confirmed_deflections": 1,
        "inferred_deflections": 1, "held_deflections": 2, "failed_deflections": 0,
        "estimated_savings_confirmed": 25.0, "estimated_savings_held": 50.0}
    assert [t["thread_id"] for t in by_billing["top_threads"]] == [pdf.id]
    assert [c["category"] for c in by_billing["by_category"]] == [billing.name]
    assert [t["tag"] for t in by_billing["by_tag"]] == ["invoices", "pdf"]
    assert by_billing["failed_sessions"] == [] and by_billing["health"]["questions"] == 1
    assert (by_billing["sessions"], by_billing["confirmed_deflections"]) == (whole["sessions"], 2)  # site-wide
    assert api(f"category={billing.id}")["filter"] == by_billing["filter"]
    assert api("tag=PDF")["filter"] == {**by_billing["filter"], "category": None, "tag": "pdf"}
    by_sync = api(f"category={sync.slug}")["filter"]
    assert (by_sync["confirmed_deflections"], by_sync["held_deflections"], by_sync["failed_deflections"]) == (1, 0, 1)
    assert api(f"category={sync.slug}&tag=pdf")["filter"]["deflections"] == 0
    assert api("category=no-such-category", 400)["error"]["field"] == "category"
    assert api("tag=nosuchtag", 400)["error"]["field"] == "tag"

    browser = site.visitor()
    browser.login(staff)
    page = browser.get(f"/analytics?{DAY}&category={sync.slug}").data.decode()
    assert f"Filtered to category <strong>{sync.slug}</strong>: 1 deflections credit its threads" in page
    assert f'<option value="{sync.slug}" selected>' in page
    assert f"category={sync.slug}" in page.split("Export CSV")[0].rsplit("href=", 1)[1]
    export = browser.get(f"/analytics/export.csv?{DAY}&tag=pdf").data.decode()
    summary = dict(row for row in csv.reader(io.StringIO(export.split("\n\n")[0])))
    assert (summary["filter.tag"], summary["filter.deflections"], summary["filter.held_deflections"]) == ("pdf", "2", "2")
    assert browser.get(f"/analytics/export.csv?{DAY}&tag=nosuchtag").status_code == 400
    refused = browser.get(f"/analytics?{DAY}&category=no-such-category")
    assert refused.status_code == 400 and "No such category." in refused.data.decode()
