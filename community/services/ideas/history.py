"""An idea's status history and merge chain, shared by status changes and merging."""
from __future__ import annotations

from ...extensions import db
from ...markup import render_markdown
from ...models import Idea, IdeaStatusChange, User, utcnow


def final_target(idea: Idea) -> Idea:
    """Where a merged idea's votes ended up (follows A→B→C chains)."""
    seen = {idea.id}
    while idea.merged_into_id is not None:
        idea = db.session.get(Idea, idea.merged_into_id)
        if idea.id in seen:  # cannot happen through ``merge``; never loop forever
            break
        seen.add(idea.id)
    return idea


def record_change(actor: User, idea: Idea, old: str, new: str, text: str, *, merged_into_id=None, at=None):
    """Move ``idea`` to ``new`` and keep the change (with its official response) in its history."""
    now = at or utcnow()
    html = render_markdown(text)
    change = IdeaStatusChange(idea_id=idea.id, old_status=old, new_status=new, response=text,
                              response_html=html, changed_by_id=actor.id, merged_into_id=merged_into_id,
                              created_at=now)
    db.session.add(change)
    idea.status = new
    idea.response, idea.response_html, idea.response_at, idea.response_by_id = text, html, now, actor.id
    idea.last_activity_at = now
    db.session.flush()
    return change
