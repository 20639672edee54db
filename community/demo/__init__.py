"""Demo content for ``flask demo seed``: categories, customers, threads, ideas and a month of simulated ask sessions.

Production code never imports this package (an import-linter contract holds it).
"""
