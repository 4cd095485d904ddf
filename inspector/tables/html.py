"""One self-contained HTML page of chosen documents (`inspector html`): the tokens coloured by
loss or rank bucket (a toggle), each token's top-k, loss, rank, entropy, task and rule shown on
hover or keyboard focus, the per-task table, and the chart of loss contribution by task
(matplotlib, inline SVG). No network: no external script, style, font or image. Every piece of
document text is escaped (in the page, `html.escape`; in the data, JSON with `<` written as
`\\u003c`), and the script writes only with `textContent`: a document holding `<script>` or
`"><img onerror=...>` runs nothing. Control characters other than tab and line breaks, which
a browser drops (NUL) or hides, are shown as their Control Pictures (U+2400 + code: ␀), so
every target keeps a character to hover; bidirectional overrides are shown as `\\u202e`, as
the app shows them, rather than reordering the text after them."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from inspector.tables.buckets import (
    CONTEXT_LABELS,
    loss_bucket,
    loss_labels,
    rank_bucket,
    rank_labels,
)
from inspector.tables.figure import svg
from inspector.tables.tasks import summarize

TOP_SHOWN = 10  # candidates per token in the page (the table keeps its k)

STYLE = """
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #ffffff; --muted: #5a5a5a; --box: #f3f3f3; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8e8; --bg: #161616; --muted: #a8a8a8; --box: #262626; } }
body { font: 15px/1.55 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 1.5rem auto; max-width: 70rem; padding: 0 1rem; }
.meta, .hint { color: var(--muted); font-size: 0.85rem; }
.doc { white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: 14px; line-height: 1.9; }
.t:empty::before { content: "\2205"; opacity: 0.7; }  /* a target with no text of its own */
.wide { overflow-x: auto; }
.t { border-radius: 3px; cursor: default; }
.t:focus, .t:hover { outline: 2px solid var(--fg); }
.b0 { background: #005f00; color: #fff; } .b1 { background: #5fd75f; color: #000; } .b2 { background: #d7d75f; color: #000; }
.b3 { background: #ff875f; color: #000; } .b4 { background: #d70000; color: #fff; } .b5 { background: #af00af; color: #fff; }
.c0 { background: #005faf; color: #fff; } .c1 { background: #5fafff; color: #000; } .c2 { background: #bcbcbc; color: #000; }
.c3 { background: #ffaf5f; color: #000; } .c4 { background: #d70000; color: #fff; } .cn { background: transparent; opacity: 0.55; }
.t.ctx::after { content: "\2022"; font-size: 0.7em; vertical-align: super; opacity: 0.8; }  /* click: its context */
.t.here { outline: 3px solid var(--fg); }
.r0 { background: #005f00; color: #fff; } .r1 { background: #d7d75f; color: #000; } .r2 { background: #d70000; color: #fff; } .r3 { background: #af00af; color: #fff; }
#tip { position: absolute; box-sizing: border-box; width: 22rem; max-width: calc(100vw - 1rem); pointer-events: none; box-shadow: 0 2px 8px rgba(0,0,0,.25); z-index: 2; background: var(--box); border: 1px solid var(--muted); border-radius: 6px; padding: 0.6rem 0.8rem; font-size: 0.85rem; }
#tip table { border-collapse: collapse; width: 100%; } #tip td { padding: 0 0.3rem; }
#tip .true { font-weight: bold; text-decoration: underline; }
#tip .piece + .piece { border-top: 1px solid var(--muted); margin-top: 0.4rem; padding-top: 0.4rem; }
table.tasks { border-collapse: collapse; } table.tasks th, table.tasks td { padding: 0.15rem 0.6rem; text-align: right; }
table.tasks th:first-child, table.tasks td:first-child { text-align: left; }
button[aria-pressed="true"] { font-weight: bold; }
.legend span { padding: 0 0.4rem; margin-right: 0.2rem; border-radius: 3px; }
svg { max-width: 100%; height: auto; background: #fff; }
"""

SCRIPT = """
(function () {
  const data = JSON.parse(document.getElementById("tokens").textContent);
  const tip = document.getElementById("tip");
  function row(cells, cls) {
    const tr = document.createElement("tr");
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
    if (cls) tr.className = cls;
    return tr;
  }
  function piece(d) {  // [token, nll, rank, p, entropy, task, rule, lb, rb, top, true]
    const box = document.createElement("div");
    box.className = "piece";
    const head = document.createElement("div");
    const pct = 100 * d[3];
    head.textContent = "target " + JSON.stringify(d[0]) + " · loss " + d[1].toFixed(2) +
      " nats · rank " + d[2] + " · p " + (pct >= 0.01 ? pct.toFixed(2) : pct.toExponential(1)) +
      "% · entropy " + d[4].toFixed(2);
    const task = document.createElement("div");
    task.textContent = "task " + d[5] + " (rule " + d[6] + ")";
    box.append(head, task);
    if (d[10] < 0) { const out = document.createElement("div"); out.textContent = "the true token is not among these (rank " + d[2] + ")"; box.append(out); }
    const table = document.createElement("table");
    d[9].forEach(function (c, i) { table.appendChild(row([String(i + 1), JSON.stringify(c[0]), (100 * c[1]).toFixed(1) + "%"], i === d[10] ? "true" : "")); });
    box.append(table);
    return box;
  }
  function show(el) {
    const first = Number(el.dataset.i), n = Number(el.dataset.n || 1);
    tip.replaceChildren();
    if (n > 1) {  // several targets share these characters (the byte pieces of one character)
      let sum = 0;
      for (let k = first; k < first + n; k++) sum += data[k][1];
      const note = document.createElement("div");
      note.textContent = n + " targets share this text; their loss in all " + sum.toFixed(2) + " nats";
      tip.append(note);
    }
    for (let k = first; k < first + n; k++) tip.append(piece(data[k]));
    tip.hidden = false;
    // beside the token: below it, or above it where the window ends; never off the page
    const r = el.getBoundingClientRect(), w = tip.offsetWidth, h = tip.offsetHeight;
    const below = r.bottom + 6 + h <= window.innerHeight || r.top < h + 6;
    tip.style.left = Math.max(8, Math.min(r.left, document.documentElement.clientWidth - w - 8)) + window.scrollX + "px";
    tip.style.top = (below ? r.bottom + 6 : r.top - h - 6) + window.scrollY + "px";
  }
  function hide() { tip.hidden = true; }
  for (const el of document.querySelectorAll(".t")) {
    el.addEventListener("mouseenter", function () { show(el); });
    el.addEventListener("focus", function () { show(el); });
    el.addEventListener("mouseleave", hide);
    el.addEventListener("blur", hide);
  }
  let shownContext = -1, mode = "loss";
  function contextOf(el) {  // the attribution of the span's targets that has one (click)
    const first = Number(el.dataset.i), n = Number(el.dataset.n || 1);
    for (let k = first; k < first + n; k++) if (data[k][11]) return k;
    return -1;
  }
  function showContext(k) {
    const [buckets, top] = data[k][11], at = new Map(buckets.map(function (b) { return [b[0], b[1]]; }));
    for (const el of document.querySelectorAll(".t")) {
      const i = Number(el.dataset.i), b = at.get(i);
      el.className = "t " + (b === undefined ? "cn" : "c" + b) + (i <= k && k < i + Number(el.dataset.n || 1) ? " here" : "");
    }
    document.getElementById("legend-context").hidden = false;
    document.getElementById("legend-loss").hidden = document.getElementById("legend-rank").hidden = true;
    const list = document.getElementById("context-top");
    list.textContent = "context of " + JSON.stringify(data[k][0]) + ": " + top.map(function (t) {
      return JSON.stringify(data[t[0]][0]) + " " + (data[k][12] - data[t[0]][12]) + " back " + (t[1] >= 0 ? "+" : "") + t[1].toFixed(2);
    }).join(" · ") + " (click it again, or Escape: back to " + mode + ")";
    list.hidden = false;
    shownContext = k;
  }
  function hideContext() {
    if (shownContext < 0) return;
    shownContext = -1;
    document.getElementById("legend-context").hidden = true;
    document.getElementById("context-top").hidden = true;
    colour(mode);
  }
  for (const el of document.querySelectorAll(".t")) {
    el.addEventListener("click", function () {
      const k = contextOf(el);
      if (k < 0) return;
      if (k === shownContext) hideContext(); else showContext(k);
    });
  }
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") { hide(); hideContext(); } });
  function colour(to) {
    mode = to;
    shownContext = -1;
    document.getElementById("legend-context").hidden = true;
    document.getElementById("context-top").hidden = true;
    for (const el of document.querySelectorAll(".t")) {
      el.className = "t " + (mode === "loss" ? "b" + el.dataset.lb : "r" + el.dataset.rb) + (contextOf(el) >= 0 ? " ctx" : "");
    }
    for (const b of document.querySelectorAll("button[data-mode]")) { b.setAttribute("aria-pressed", String(b.dataset.mode === mode)); }
    document.getElementById("legend-loss").hidden = mode !== "loss";
    document.getElementById("legend-rank").hidden = mode !== "rank";
  }
  for (const b of document.querySelectorAll("button[data-mode]")) { b.addEventListener("click", function () { colour(b.dataset.mode); }); }
  colour("loss");  // marks the targets whose context a click shows
})();
"""


def page(
    table: pl.DataFrame,
    texts: dict[str, str],
    header: Sequence[str],
    top: int = TOP_SHOWN,
    docs: Sequence[str] | None = None,
    context: dict[tuple[str, int], Any] | None = None,
) -> str:
    """The page of the documents in `table` (a tagged token table), their texts in `texts`;
    `docs` in this order, an empty one (no targets) said to be empty (default: the table's).
    `context`: attributions (`run/context.TargetAttribution`) by (doc_id, pos), whose
    targets colour their context when clicked."""
    esc = html.escape
    data: list[list[Any]] = []
    sections = []
    parts = table.partition_by("doc_id", as_dict=True, maintain_order=True)
    by_id = {str(k[0]): rows for k, rows in parts.items()}
    for doc_id in docs if docs is not None else list(by_id):
        rows = by_id.get(doc_id)
        body = (
            f'<p class="doc">{_spans(rows, texts.get(doc_id, ""), data, top, doc_id, context or {})}</p>'
            if rows is not None
            else '<p class="meta">an empty document: no targets</p>'
        )
        sections.append(f"<section><h2>{esc(doc_id)}</h2>{body}</section>")
    if table.is_empty():  # only empty documents chosen: nothing to tabulate or chart
        return _page(
            sections, data, header, top, "<p>No targets in these documents.</p>", bool(context)
        )
    summary = summarize(table.lazy(), "task")
    tasks = "".join(
        f"<tr><td>{esc(str(r['task']))}</td><td>{r['tokens']:,}</td><td>{r['mean_nll']:.3f}</td>"
        f"<td>{r['loss_contribution']:.3f}</td><td>{r['loss_share']:.1%}</td><td>{r['top1_accuracy']:.1%}</td></tr>"
        for r in summary.iter_rows(named=True)
    )
    table_html = (
        '<div class="wide"><table class="tasks"><tr><th>task</th><th>tokens</th><th>mean loss</th>'
        f"<th>contribution</th><th>loss share</th><th>top-1</th></tr>{tasks}</table></div>"
        f'<figure>{svg(summary, header)}<figcaption class="meta">Each task\'s loss contribution '
        "(token share × mean loss); they add up to the mean loss.</figcaption></figure>"
    )
    return _page(sections, data, header, top, table_html, bool(context))


def _page(
    sections: list[str], data: list[list[Any]], header: Sequence[str], top: int, tasks: str,
    clickable: bool = False,
) -> str:  # fmt: skip
    """The whole page around the documents' sections and the per-task block."""
    esc = html.escape
    loss_legend = "".join(
        f'<span class="b{i}">{esc(lab)}</span>' for i, lab in enumerate(loss_labels())
    )
    rank_legend = "".join(
        f'<span class="r{i}">{esc(lab)}</span>' for i, lab in enumerate(rank_labels())
    )
    context_legend = "".join(
        f'<span class="c{i}">{esc(lab)}</span>' for i, lab in enumerate(CONTEXT_LABELS)
    )
    click = (
        " A target marked • colours its context by attribution when clicked (gradient x input: "
        "blue helps the prediction, red hurts it, relative to the largest)."
        if clickable
        else ""
    )
    blob = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>inspector: {len(sections)} document(s)</title><style>{STYLE}</style></head>
<body>
<h1>What the model predicted, token by token</h1>
<p class="meta">{"<br>".join(esc(h) for h in header)}</p>
<p>Colour by <button type="button" data-mode="loss" aria-pressed="true">loss</button>
<button type="button" data-mode="rank" aria-pressed="false">rank bucket</button>
<span class="legend" id="legend-loss">loss (nats): {loss_legend}</span>
<span class="legend" id="legend-rank" hidden>rank: {rank_legend}</span>
<span class="legend" id="legend-context" hidden>context: {context_legend}</span></p>
<p class="meta" id="context-top" hidden></p>
<p class="hint">Hover over a token, or move to it with Tab, to see the model's top {top} candidates for it (the true token underlined), its loss, rank, entropy, task and the rule that decided it; Escape hides them.{click}</p>
<aside id="tip" hidden aria-live="polite"></aside>
{"".join(sections)}
<h2>Loss by task</h2>
{tasks}
<script type="application/json" id="tokens">{blob}</script>
<script>{SCRIPT}</script>
</body></html>
"""


def _target(r: dict[str, Any], top: int) -> list[Any]:
    """One target as the script reads it: token, nll, rank, p, entropy, task, rule, loss and
    rank buckets, the candidates (token, p) and which of them is the true one (-1: none)."""
    ids = list(r["top_ids"][:top])
    return [
        r["token"], round(r["nll"], 3), r["rank"], float(f"{r['prob']:.4g}"),
        round(r["entropy"], 2), r["task"], r["task_reason"],
        int(loss_bucket(np.asarray([r["nll"]]))[0]), int(rank_bucket(np.asarray([r["rank"]]))[0]),
        [[t, round(float(p), 4)] for t, p in zip(r["top_tokens"][:top], r["top_probs"][:top], strict=False)],
        ids.index(r["token_id"]) if r["token_id"] in ids else -1,
    ]  # fmt: skip


def _spans(rows: pl.DataFrame, text: str, data: list[list[Any]], top: int, doc_id: str = "",
           context: dict[tuple[str, int], Any] | None = None) -> str:  # fmt: skip
    """The document's text with its targets in focusable spans (gaps kept as text). Targets
    that share characters (the byte pieces of one character, or a piece with no text of its
    own) share one span, which shows each of them, coloured by their loss in all and their
    worst rank; every target is in exactly one span."""
    groups: list[list[Any]] = []  # [start, end, first index in data, count]
    base = len(data)  # the document's targets are data[base + pos]
    for r in rows.sort("pos").iter_rows(named=True):
        a, b = r["char_start"], r["char_end"]
        data.append(_target(r, top))
        found = (context or {}).get((doc_id, r["pos"]))
        if found is not None:  # [12]: pos; [11]: its context's buckets and largest contributors
            buckets = found.buckets(r["pos"])
            data[-1].append([
                [[base + j, int(k)] for j, k in enumerate(buckets.tolist()) if k >= 0],
                [[base + j, round(score, 3)] for j, score in found.top],
            ])  # fmt: skip
        else:
            data[-1].append(None)
        data[-1].append(int(r["pos"]))
        at = groups[-1][1] if groups else 0
        if groups and (b <= at or a >= b):  # within the span before it, or no text at all
            groups[-1][3] += 1
        else:
            groups.append([max(a, at), b, len(data) - 1, 1])
    esc, out, at = _shown, [], 0
    for a, b, first, n in groups:
        if a > at:
            out.append(esc(text[at:a]))
        pieces = data[first : first + n]
        lb = int(loss_bucket(np.asarray([sum(d[1] for d in pieces)]))[0])
        rb = int(rank_bucket(np.asarray([max(d[2] for d in pieces)]))[0])
        many = f' data-n="{n}"' if n > 1 else ""
        out.append(
            f'<span class="t b{lb}" tabindex="0" data-i="{first}"{many} data-lb="{lb}" '
            f'data-rb="{rb}">{esc(text[a:b])}</span>'
        )
        at = max(at, b)
    out.append(esc(text[at:]))
    return "".join(out)


PICTURES: dict[int, int | str] = {c: 0x2400 + c for c in range(32) if chr(c) not in "\t\n\r"}
PICTURES[0x7F] = 0x2421
for _c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)):  # bidi overrides: shown, not obeyed
    PICTURES[_c] = f"\\u{_c:04x}"


def _shown(text: str) -> str:
    """Document text for the page: escaped, control characters as their pictures."""
    return html.escape(text).translate(PICTURES)
