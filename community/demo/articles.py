"""Demo knowledge-base articles: a few official answers, and one solved thread promoted to an article."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Thread
from ..services.kb import articles

ARTICLES = [
    ("Billing & Accounts", "Why was I charged twice, and how do refunds work?",
     "A second charge for the same invoice is almost always a **pending authorization** that your bank "
     "releases within 3–5 business days.\n\n1. Open **Billing → Invoices** and check that only one invoice "
     "is marked *Paid*.\n2. If two invoices are paid, choose **Request refund** on the newer one: refunds "
     "reach your card within 5 business days.\n3. Still charged twice after 5 days? Contact support with "
     "both transaction ids.", ["billing", "refunds"]),
    ("Sync & Storage", "Restore an earlier version of a file",
     "Every file keeps 30 days of versions (180 days on Business plans).\n\n- In the web app, right-click "
     "the file and choose **Version history**.\n- Pick the version and choose **Restore**: the current "
     "version is kept as a newer version, so nothing is lost.", ["sync", "versions"]),
    ("Mobile App", "Turn on offline mode in the mobile app",
     "Open the file list, tap **⋯** on a folder and choose **Available offline**. Offline folders sync "
     "again automatically when you are back online; edits made offline upload first.", ["mobile", "offline"]),
]


def seed_articles(people: dict, categories: dict) -> int:
    """Publish the demo articles and promote the first solved demo thread; returns how many were made."""
    agent = people["agent"]
    for category, title, body, tags in ARTICLES:
        articles.create_article(agent, categories[category], title, body, tags, state="published")
    solved = db.session.execute(select(Thread).where(Thread.accepted_post_id.is_not(None))
                                .order_by(Thread.id).limit(1)).scalar_one_or_none()
    if solved is None:
        return len(ARTICLES)
    articles.promote(agent, solved, state="published")
    return len(ARTICLES) + 1
