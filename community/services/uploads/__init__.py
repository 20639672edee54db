"""Image uploads: what a picture must be to be stored (``images``), where it is kept
(``storage``), and the member-facing rules, limits and dedupe (``store``)."""
