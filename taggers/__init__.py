"""Task taggers: which task (grammar, world knowledge, punctuation, arbitrary) each target tests.

The rules and the spaCy alignment arrive with issue 3; this package is where they live.
"""
