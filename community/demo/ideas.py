"""Demo ideas for the fictional "Acme Cloud": votes spread over weeks, every status, a merge.

Called from ``demo.seed()`` (which runs once, on an empty site), through the
same services real users go through, so counters, history and reputation agree.
"""
from __future__ import annotations

import random
from datetime import timedelta

from ..models import utcnow
from ..services.ideas import exchange, merging

#: title, product, tags, author, body, (status, response) steps, voters, days since posting
IDEAS = [
    ("Dark mode for the web app", "Getting Started", ["ui", "accessibility"], "carol",
     "Working late with the bright white web app is hard on the eyes. Please add a dark theme that follows "
     "the operating system setting, like the desktop client already does.",
     [("under_review", "Thanks! Many of you asked for this. We are reviewing how it fits the new design system."),
      ("planned", "Dark mode is **planned for Q3**. It will follow your OS setting by default, with a manual switch in *Settings → Appearance*.")],
     11, 80),
    ("Export invoices for a whole year as one ZIP", "Billing & Accounts", ["invoice", "billing"], "bob",
     "Our accountant needs every invoice of the fiscal year. Downloading twelve PDFs one by one is tedious. "
     "A single ZIP (or one merged PDF) for a date range would save time every year.",
     [("in_progress", "We are building a *Download all* button on **Invoice history** with a date range. Expect it in the next billing release.")],
     8, 60),
    ("Selective sync for shared folders on mobile", "Mobile App", ["sync", "offline"], "dave",
     "On my phone I only need two of the twenty shared folders offline. Let me choose which shared folders "
     "sync to the device, as the desktop app allows.",
     [], 7, 21),
    ("Webhook retries with exponential backoff", "Integrations & API", ["webhooks", "api"], "erin",
     "When our endpoint is down for a few minutes we lose webhook events. Retry failed deliveries with "
     "exponential backoff for at least 24 hours and show the delivery log in the dashboard.",
     [("under_review", "Good point. We are measuring how often deliveries fail today before choosing a retry policy."),
      ("delivered", "Shipped in API **v2.8**: failed deliveries are retried with exponential backoff for 24 hours, and *Settings → Webhooks → Deliveries* shows every attempt.")],
     9, 120),
    ("Let me pay by bank transfer (SEPA)", "Billing & Accounts", ["billing", "payments"], "frank",
     "Our company cannot use credit cards for subscriptions. Please accept SEPA direct debit or bank transfer "
     "for annual plans.",
     [("declined", "Thank you for the suggestion. We accept bank transfer for annual plans above 20 seats through our sales team; we do not plan self-service SEPA for smaller plans this year.")],
     4, 90),
    ("Two-factor authentication with hardware keys", "Getting Started", ["security", "sso"], "grace",
     "We want to require FIDO2/WebAuthn keys (YubiKey) for admins. Authenticator apps are fine for others.",
     [], 6, 10),
    ("Show storage used per folder", "Sync & Storage", ["storage", "quota"], "heidi",
     "We keep hitting our quota and cannot tell which folder is the culprit. Show the size of each folder "
     "in the web app, sortable.",
     [], 5, 5),
    ("Folder sizes in the web interface", "Sync & Storage", ["storage"], "ivan",
     "It would be great to see how much space each folder takes so we can clean up before the quota runs out.",
     [], 3, 4),
]


def seed_ideas(people: dict, categories: dict, rng: random.Random) -> int:
    """Create the demo ideas; returns how many.  ``people`` by username, ``categories`` by name."""
    now = utcnow()
    product = people["product"]
    voters_pool = [u for name, u in people.items() if u.role == "member"]
    created = []
    for title, category, tags, author, body, steps, n_voters, age_days in IDEAS:
        posted = now - timedelta(days=age_days, hours=rng.randint(0, 12))
        idea = exchange.create_idea(people[author], categories[category], title, body, tags, created_at=posted)
        voters = [u for u in voters_pool if u.id != idea.author_id]
        for voter in rng.sample(voters, k=min(n_voters, len(voters))):
            # Most votes early, some recent: trends and sparklines have a shape.
            when = posted + timedelta(days=rng.uniform(0, age_days) ** 1.3 / max(age_days, 1) ** 0.3)
            exchange.set_vote(voter, idea, 1, at=min(when, now))
        for step, (status, response) in enumerate(steps, start=1):
            when = posted + timedelta(days=age_days * step / (len(steps) + 1))
            exchange.change_status(product, idea, status, response, at=when)
        created.append(idea)
    exchange.add_comment(people["judy"], created[0], "Yes please! Also for the **mobile app**, if possible.",
                      at=now - timedelta(days=3))
    exchange.add_comment(people["mallory"], created[2], "Same here: my phone fills up with folders I never open.",
                      at=now - timedelta(days=1))
    # The two folder-size ideas are duplicates: merge the newer into the older.
    merging.merge(product, created[-1], created[-2],
                "Merged into the older request for folder sizes: your votes moved there.")
    return len(created)
