"""Hand-written mutants of this session's deflection code (credit, breakdowns, time zone, article review).

    .venv/bin/python bench/mutate_deflection_extras.py

Each mutant is applied to the working tree, the deflection tests run (-x), and the file is
restored; prints KILLED/SURVIVED per mutant.  mutmut (README, "Mutation testing") covers the
older rules; this is the quick check that a deliberate mistake in the new code fails a test.
Do not run it while someone else writes to the same checkout.
"""
import subprocess, sys, pathlib
M = [
 ("community/services/deflection/credit.py", "DeflectionCredit.created_at >= at - window", "DeflectionCredit.created_at > at - window + timedelta(days=1)"),
 ("community/services/deflection/credit.py", "if answer is not None and answer.author_id and not _authors_own(session, answer.author_id):", "if answer is not None and answer.author_id:"),
 ("community/services/deflection/credit.py", "    return earlier >= cap", "    return earlier > cap"),
 ("community/services/deflection/credit.py", "if config[\"DEFLECTION_EXCLUDE_AUTOMATED\"] and session.beacon_at is None:", "if False:"),
 ("community/services/deflection/credit.py", "            reputation.reverse_where(", "            0 and reputation.reverse_where("),
 ("community/services/deflection/credit.py", "DeflectionCredit.thread_id == thread_id, DeflectionCredit.failed_at.is_(None)", "DeflectionCredit.thread_id == thread_id"),
 ("community/services/deflection/breakdowns.py", "bucket[\"held\"] += not outcome.failed", "bucket[\"held\"] += 1"),
 ("community/services/deflection/breakdowns.py", "return day.replace(day=1).isoformat() if monthly else (day - timedelta(days=day.weekday())).isoformat()", "return day.replace(day=1).isoformat() if monthly else (day - timedelta(days=day.weekday() + 1)).isoformat()"),
 ("community/services/deflection/breakdowns.py", "return start - timedelta(days=length), start - timedelta(days=1)", "return start - timedelta(days=length + 1), start - timedelta(days=1)"),
 ("community/services/deflection/breakdowns.py", "kind = \"article\" if outcome.credited_article_id else \"thread\" if outcome.credited_thread_id else None", "kind = \"thread\" if outcome.credited_thread_id or outcome.credited_article_id else None"),
 ("community/services/deflection/metrics.py", "    return _utc_midnight(start), _utc_midnight(end + timedelta(days=1))", "    return datetime.combine(start, time.min), datetime.combine(end + timedelta(days=1), time.min)"),
 ("community/services/kb/feedback.py", "counts[1] += session_id in first_contact and first_contact[session_id] >= at", "counts[1] += session_id in first_contact"),
]
tests = ["tests/deflection/test_deflection_credit.py", "tests/deflection/test_deflection_articles.py",
         "tests/deflection/test_deflection_metrics.py", "tests/deflection/test_deflection_views.py"]
killed = 0
for path, old, new in M:
    p = pathlib.Path(path); src = p.read_text()
    assert old in src, (path, old)
    p.write_text(src.replace(old, new, 1))
    try:
        r = subprocess.run([".venv/bin/python", "-m", "pytest", "-q", "-x", "-m", "not browser and not slow", *tests],
                           capture_output=True, text=True, timeout=900)
    finally:
        p.write_text(src)
    dead = r.returncode != 0
    killed += dead
    print(("KILLED  " if dead else "SURVIVED"), path.split("/")[-1], "|", new[:90], flush=True)
print(f"{killed}/{len(M)} killed")
