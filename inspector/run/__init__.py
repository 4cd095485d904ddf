"""How a scored table is obtained: the cache, score-or-load, streamed parts, Ray."""
