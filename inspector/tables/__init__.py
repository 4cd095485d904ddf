"""The token table: its schema and files, per-task summaries, comparisons, rendering."""
