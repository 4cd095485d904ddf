"""Models and scoring: load a causal LM, window and batch documents, score every target token."""
