"""Email: messages rendered from templates into the outbox, and the worker that sends them.

``messages.queue`` writes an ``OutboxMessage`` (channel ``email``) in the
caller's transaction, so a mail exists exactly when the event that caused it
committed; ``outbox.send_due`` (``flask mail send``) hands them to the
adapter in ``community/mail.py``.
"""
