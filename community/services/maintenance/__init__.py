"""Site maintenance: checks that what is stored agrees with what it is derived from.

``integrity`` finds drift between counters, the reputation ledger and the rows they count,
and repairs what can be derived again (``flask --app community check [--fix]``).
"""
