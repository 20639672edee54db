"""Recording staff actions in the audit log.  Callers commit (same transaction as the action)."""
from __future__ import annotations

from ...extensions import db
from ...models.audit import AuditEntry


def record(actor, action: str, target_type: str, target_id: int | None, *,
           before: dict | None = None, after: dict | None = None, note: str | None = None) -> AuditEntry:
    entry = AuditEntry(actor_id=getattr(actor, "id", None), action=action, target_type=target_type,
                       target_id=target_id, before=before, after=after,
                       note=(note or None) and note[:1000])
    db.session.add(entry)
    return entry
