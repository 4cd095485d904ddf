"""inspector: look at what a language model does on real text, one next-token prediction at a time.

For notebooks, `import inspector` gives the API of `inspector/api.py` (`score`, `read`,
`tasks`, `examples`, `compare`, `compare_units`, `fit`, `probe`, `probes`, `layers`, `context`,
`documents`, `score_run`), imported on first use so that the command line starts at once.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
API = ("score", "score_run", "read", "tasks", "examples", "compare", "compare_units", "fit",
       "probe", "probes", "layers", "context", "documents")  # fmt: skip
__all__ = ["__version__", *API]


def __getattr__(name: str) -> Any:
    """The API's functions, from `inspector.api` on first use (the package's one lazy
    import from a higher layer: the notebook façade; tests/test_architecture.py allows it)."""
    if name in API:
        from inspector import api

        return getattr(api, name)
    raise AttributeError(f"module 'inspector' has no attribute {name!r}")
