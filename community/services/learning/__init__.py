"""Search that learns from the site's own signals (issue 16): evidence of which words ask for which thread.

``evidence.py`` records and rebuilds the votes (``search_evidence``); the search
package reads them into the ``learned`` index field.  See docs/search.md.
"""
