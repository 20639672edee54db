"""The Q&A forum: threads and posts, votes, accepting answers, the reputation ledger, listings, imports.

Everything a customer does to ask, answer and be credited lives here; moderation
(hiding, locking, merging) is ``services.moderation``.
"""
