"""How big the HTML page of N tokens (default 10,000) is and how fast it opens: the page of
`inspector html` built from the bundled corpus scored by the embedded model (its documents
repeated, with new ids, until there are N tokens), written to a file and opened in headless
Chromium, best and median of 3 fresh loads. Beside it, the same text as a plain page (no
token markup, no data, no script): what the colours and the candidates cost."""

from __future__ import annotations

import html
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

TOKENS = 10_000
REPEATS = 3
TIMING = """
const n = performance.getEntriesByType("navigation")[0];
const paint = performance.getEntriesByName("first-contentful-paint")[0];
return [n.domContentLoadedEventEnd, n.loadEventEnd, paint ? paint.startTime : -1];
"""


def _rows(model: str, device: str, cache_dir: Path, tokens: int) -> tuple[Any, pl.DataFrame, dict]:
    """The bundled corpus's run, its rows repeated to `tokens` tokens, and their texts."""
    from corpora import bundled_path, read_corpus
    from inspector.lm.config import ScoreConfig
    from inspector.run.request import score_or_load
    from taggers.rules import load_rules

    docs = read_corpus([bundled_path()])
    run = score_or_load(docs, model, device, "auto", ScoreConfig(), load_rules(), cache_dir)
    table = run.frame.collect()
    parts: list[pl.DataFrame] = []
    texts: dict[str, str] = {}
    copy = 0
    while sum(p.height for p in parts) < tokens:
        copy += 1
        parts.append(table.with_columns(pl.col("doc_id") + f" ({copy})"))
        texts |= {f"{d.id} ({copy})": d.text for d in docs}
    return run, pl.concat(parts).head(tokens), texts


def _open(driver: Any, path: Path) -> list[float]:
    """Milliseconds from navigation to DOMContentLoaded, to load, to first paint."""
    driver.get("about:blank")
    driver.get(path.as_uri())
    driver.execute_async_script(  # two frames drawn: the first paint is recorded
        "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));"
    )
    return [float(v) for v in driver.execute_script(TIMING)]


def measure_html(model: str, device: str, cache_dir: Path, tokens: int = TOKENS) -> dict[str, Any]:
    from inspector.bench.browser import chromium, missing
    from inspector.errors import InspectorError, message
    from inspector.tables.compare import describe
    from inspector.tables.html import page

    why = missing()
    if why:  # said before minutes of scoring, not after
        raise InspectorError(message("no_browser", why=why))
    run, rows, texts = _rows(model, device, cache_dir, tokens)
    started = time.perf_counter()
    text = page(rows, texts, describe([run]))
    build_s = time.perf_counter() - started
    shown = rows["doc_id"].unique(maintain_order=True).to_list()
    plain = "<!DOCTYPE html><meta charset=utf-8><title>plain</title>" + "".join(
        f"<h2>{html.escape(d)}</h2><pre>{html.escape(texts[d])}</pre>" for d in shown
    )
    out: dict[str, Any] = {"tokens": rows.height, "documents": len(shown), "build_s": build_s}
    with tempfile.TemporaryDirectory() as tmp, chromium() as driver:
        for name, body in (("page", text), ("plain", plain)):
            path = Path(tmp) / f"{name}.html"
            path.write_text(body, encoding="utf-8")
            loads = [_open(driver, path) for _ in range(REPEATS)]
            out[name] = {
                "bytes": path.stat().st_size,
                "dom_ms": [row[0] for row in loads],
                "load_ms": [row[1] for row in loads],
                "paint_ms": [row[2] for row in loads],
            }
        out["browser"] = driver.capabilities.get("browserVersion", "?")
    return out


def _first_paint(times: list[float]) -> str:
    """The best first-contentful-paint time of the loads that recorded one (-1: none did)."""
    seen = [t for t in times if t >= 0]
    return f"{min(seen):5.0f} ms" if seen else "  n/a (not recorded)"


def format_html(r: dict[str, Any]) -> str:
    def line(name: str, what: str) -> str:
        m = r[name]
        size = m["bytes"]
        return (
            f"  {what:<38} {size / 1e6:6.2f} MB  {size / r['tokens']:5.0f} B/token   "
            f"loaded {min(m['load_ms']):6.0f} ms best, {statistics.median(m['load_ms']):6.0f} median"
            f"   first paint {_first_paint(m['paint_ms'])}"
        )

    ratio = min(r["page"]["load_ms"]) / max(min(r["plain"]["load_ms"]), 1e-9)
    return "\n".join(
        [
            f"inspector html: {r['tokens']:,} tokens in {r['documents']} documents, page built in "
            f"{r['build_s']:.2f} s; opened in headless Chromium {r['browser']}, best and median of {REPEATS}",
            line("page", "the page (colours, candidates, chart)"),
            line("plain", "the same text, plain"),
            f"  the page loads in {ratio:.1f}x the plain text's time "
            f"(target: under 5 MB and under 1 s for 10,000 tokens)",
        ]
    )
