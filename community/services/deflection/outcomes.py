"""What happened in each ask session: its facts, its outcome, and which sessions are excluded.

The rules of ``docs/metrics.md`` ("Definitions", "Numbers that hold") word for word;
pure functions over plain rows, so that the tests and the mutation tester can pin them.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ...models.metrics import CONTACT_KINDS


@dataclass
class SessionFacts:
    """The events of one session that the definitions look at."""

    id: str
    started_at: datetime
    visitor_id: str = ""
    user_id: int | None = None
    page: str = "ask"
    arm: str = "suggestions"
    address_key: str | None = None
    beacon_at: datetime | None = None
    shown_with_results: bool = False
    opens: list = field(default_factory=list)       # (at, thread_id, idea_id, article_id)
    confirms: list = field(default_factory=list)    # (at, thread_id, article_id)
    contacts: list = field(default_factory=list)    # (at, kind)
    still_need_help: bool = False

    def add(self, kind: str, at: datetime, thread_id=None, idea_id=None, result_count=None,
            article_id=None) -> None:
        if kind == "suggestions_shown" and (result_count or 0) > 0:
            self.shown_with_results = True
        elif kind == "suggestion_opened":
            self.opens.append((at, thread_id, idea_id, article_id))
        elif kind == "confirmed":
            self.confirms.append((at, thread_id, article_id))
        elif kind in CONTACT_KINDS:
            self.contacts.append((at, kind))
        elif kind == "still_need_help":
            self.still_need_help = True


@dataclass
class Outcome:
    with_suggestions: bool
    confirmed: bool = False
    inferred: bool = False
    pending: bool = False
    credited_thread_id: int | None = None
    #: Or the knowledge-base article credited (a deflection credits one thread or one article).
    credited_article_id: int | None = None
    #: When the deflection happened: the confirmation, or the last opening (inferred).
    at: datetime | None = None
    #: Why it does not count, when automated-looking ("no_script", "address_cap").
    excluded: str | None = None
    failed: bool = False

    @property
    def deflected(self) -> bool:
        return self.confirmed or self.inferred


def classify(facts: SessionFacts, *, now: datetime, window: timedelta) -> Outcome:
    """Apply the definitions to one session (see docs/metrics.md).

    - with suggestions: at least one ``suggestions_shown`` with one result or more;
    - confirmed deflection: with suggestions, confirmed, and no contact at or after
      the first confirmation;
    - inferred deflection: with suggestions, never confirmed, opened a suggestion,
      and no contact between the first opening and ``window`` after the last one,
      that window having fully elapsed by ``now`` (until then the session is *pending*).
    Confirmed and inferred are disjoint by construction.  Credit goes to the confirmed
    thread or article, or the last *thread or article* opened (an idea is never credited).
    """
    outcome = Outcome(with_suggestions=facts.shown_with_results)
    if not facts.shown_with_results:
        return outcome
    if facts.confirms:
        first_at, thread_id, article_id = min(facts.confirms, key=lambda c: c[0])
        if not any(at >= first_at for at, _ in facts.contacts):
            outcome.confirmed = True
            outcome.credited_thread_id, outcome.credited_article_id = thread_id, article_id
            outcome.at = first_at
        return outcome
    if not facts.opens:
        return outcome
    opens = sorted(facts.opens, key=lambda o: o[0])
    first_open, last_open = opens[0][0], opens[-1][0]
    deadline = last_open + window
    if any(first_open <= at <= deadline for at, _ in facts.contacts):
        return outcome
    if now < deadline:
        outcome.pending = True
        return outcome
    outcome.inferred = True
    outcome.at = last_open
    credited = [(thread_id, article_id) for _, thread_id, _, article_id in opens
                if thread_id is not None or article_id is not None]
    if credited:
        outcome.credited_thread_id, outcome.credited_article_id = credited[-1]
    return outcome


def fails(deflected_at: datetime, contact_at: datetime, window: timedelta) -> bool:
    """The one rule for a deflection that *failed* (docs/metrics.md, "Held / failed"), asked by the
    metrics (``holdout.later_contact``) and by the credits (``credit``): a contact by the same
    visitor at or after the deflection and at most ``window`` (``DEFLECTION_WINDOW_DAYS``) after it.
    Both ends count: a contact at the very instant of a confirmation undoes it here as it does in
    ``classify`` (whichever session of the visitor it came from), and one exactly ``window``
    later still fails it."""
    return deflected_at <= contact_at <= deflected_at + window


def mark_exclusions(outcomes: list[tuple[SessionFacts, Outcome]], *, exclude_automated: bool,
                    cap_per_hour: int) -> None:
    """Set ``Outcome.excluded`` on deflections that look automated.

    - ``no_script``: while ``exclude_automated``, a deflection whose page never ran its
      script (no beacon), as a replayed list of URLs does;
    - ``address_cap``: beyond ``cap_per_hour`` confirmed deflections from one address in
      one clock hour (UTC), the later ones, in time order (0: no cap).
    """
    per_hour = defaultdict(int)
    confirmed = sorted((pair for pair in outcomes if pair[1].confirmed), key=lambda p: (p[1].at, p[0].id))
    for facts, outcome in outcomes:
        if outcome.deflected and exclude_automated and facts.beacon_at is None:
            outcome.excluded = "no_script"
    for facts, outcome in confirmed:
        if outcome.excluded or not cap_per_hour:
            continue
        hour = (facts.address_key, outcome.at.replace(minute=0, second=0, microsecond=0))
        per_hour[hour] += 1
        if per_hour[hour] > cap_per_hour:
            outcome.excluded = "address_cap"
