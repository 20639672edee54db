"""Search-before-you-post: ask sessions and their events, the suggestions shown, and the metrics.

Sessions record what a visitor typed, saw, opened and confirmed; metrics turn those
raw events into deflection and community-health figures on read (``docs/metrics.md``).
"""
