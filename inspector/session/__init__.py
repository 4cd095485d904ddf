"""The browsing session (no Textual): position, jumps, search, the saved place."""
