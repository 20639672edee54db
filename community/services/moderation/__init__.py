"""Keeping threads healthy: hiding and locking, flags, merges, spam limits, suspensions and the audit trail.

Every staff action records an audit entry (``audit.record``) in the same transaction.
"""
