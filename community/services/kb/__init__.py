"""The knowledge base: official articles written by staff (drafts, publishing, revisions),
promoting a solved thread to an article with credit to its answerer, and "Was this helpful?" feedback.
"""
