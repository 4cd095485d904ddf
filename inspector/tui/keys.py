"""The app's keys, one line each: key, action, footer name, and what it does (help and the
command palette show that). Annotation mode's keys come first: where a key means something
else there (`n`: a note, not the next match), the first binding wins while annotating. The
arrows need no footer space: at 80 columns it keeps ? help and q quit instead."""

from __future__ import annotations

from textual.binding import Binding, BindingType

ANNOTATE_ACTIONS = {"label", "accept", "skip", "undo", "note", "back_target"}
BROWSE_KEYS = {
    "document",
    "pick_task",
    "jump",
    "search",
    "colour",
    "compare",
}  # left out of its footer

# the label keys are renamed after their labels when annotation starts (`annotating.py`)
LABEL_KEYS = [
    Binding(str(i), f"label({i})", f"label {i}", tooltip=f"annotate: label the target with label {i}")
    for i in range(1, 10)
]  # fmt: skip
BINDINGS: list[BindingType] = [
    *LABEL_KEYS,
    Binding("enter", "accept", "accept", tooltip="annotate: label the target with its heuristic task"),
    Binding("space", "skip", "skip", tooltip="annotate: skip this target"),
    Binding("u", "undo", "undo", tooltip="annotate: undo your last label"),
    Binding("n", "note", "note", tooltip="annotate: add a free-text note to this target's label"),
    Binding("backspace", "back_target", "back", show=False, tooltip="annotate: back to the previous target"),
    Binding("a", "annotate", "annotate", tooltip="switch between browsing and annotating"),
    Binding("K", "agreement", "agreement", show=False, tooltip="agreement of the heuristics with people, and between people"),
    Binding("right,l", "step(1)", "next", show=False, tooltip="next token"),
    Binding("left,h", "step(-1)", "prev", show=False, tooltip="previous token"),
    Binding("w,ctrl+right", "word(1)", "word", show=False, tooltip="next word"),
    Binding("b,ctrl+left", "word(-1)", "word back", show=False, tooltip="previous word"),
    Binding("],down", "document(1)", "doc", tooltip="next document"),
    Binding("[,up", "document(-1)", "doc back", show=False, tooltip="previous document"),
    Binding("home,g", "first", "first", show=False, tooltip="first token of the document"),
    Binding("end,G", "last", "last", show=False, tooltip="last token of the document"),
    Binding("t", "pick_task", "task", tooltip="choose the task f/F jump to: first the one under the cursor, then the others"),
    Binding("f", "jump('task', 1)", "next task", show=False, tooltip="next target of the chosen task"),
    Binding("F", "jump('task', -1)", "prev task", show=False, tooltip="previous target of the chosen task"),
    Binding("x", "jump('loss', 1)", "high loss", tooltip="next target above the loss threshold"),
    Binding("X", "jump('loss', -1)", "prev high loss", show=False, tooltip="previous target above the loss threshold"),
    Binding("plus,equals_sign", "threshold(1)", "threshold +", show=False, tooltip="raise the loss threshold by 1 nat"),
    Binding("minus", "threshold(-1)", "threshold -", show=False, tooltip="lower the loss threshold by 1 nat"),
    Binding("o", "jump('outside', 1)", "outside top-k", show=False, tooltip="next target ranked outside the top-k"),
    Binding("O", "jump('outside', -1)", "prev outside", show=False, tooltip="previous target ranked outside the top-k"),
    Binding("slash", "search", "search", tooltip="search the text"),
    Binding("n", "search_again(1)", "search next", show=False, tooltip="next match of the last search"),
    Binding("N", "search_again(-1)", "search prev", show=False, tooltip="previous match of the last search"),
    Binding("colon", "goto", "go to", show=False, tooltip="go to a document (number or id) and position, e.g. 3:40"),
    Binding("c", "colour", "colour", tooltip="colour by loss or by rank bucket (GLTR); in compare mode, also by the change"),
    Binding("d", "compare", "compare", tooltip="compare mode: the text coloured by the change in loss between runs of this corpus, on and off"),
    Binding("D", "pick_runs", "choose runs", show=False, tooltip="choose the cached runs of this corpus that compare mode, s and the fits use (kept per corpus)"),
    Binding("T", "change_page", "change table", show=False, tooltip="compare: the side table's next page: this document, all documents, trends"),
    Binding("i", "changed('improvement', 1)", "better", tooltip="compare: the next biggest improvement (loss fell most)"),
    Binding("I", "changed('improvement', -1)", "prev better", show=False, tooltip="compare: back to the previous, bigger improvement"),
    Binding("r", "changed('regression', 1)", "worse", tooltip="compare: the next biggest regression (loss rose most)"),
    Binding("R", "changed('regression', -1)", "prev worse", show=False, tooltip="compare: back to the previous, bigger regression"),
    Binding("y", "pick_trend", "trend", show=False, tooltip="compare: choose the trend class e/E jump to (3 runs or more)"),
    Binding("e", "trend(1)", "next trend", show=False, tooltip="compare: next unit of the chosen trend class"),
    Binding("E", "trend(-1)", "prev trend", show=False, tooltip="compare: previous unit of the chosen trend class"),
    Binding("p", "contrast", "ask", show=False, tooltip="ask the model: how likely other continuations are here, beside the text's own"),
    Binding("L", "depth", "depth", show=False, tooltip="the logit lens at the target: the layer where the model's prediction forms"),
    Binding("C", "context", "context", show=False, tooltip="colour the text by what the prediction of the target leans on (attribution); C again: off"),
    Binding("P", "run_probe", "probe", show=False, tooltip="ask the model this document's probe: the expected continuation against its foils"),
    Binding("m", "write", "my text", show=False, tooltip="write or paste your own text: scored on the spot and opened"),
    Binding("M", "save_written", "save texts", show=False, tooltip="save the texts you wrote to a JSONL file (added at its end)"),
    Binding("v", "overview", "documents", show=False, tooltip="every document at a glance: tokens, loss, loss per task, rank buckets; sortable"),
    Binding("z", "examples", "examples", show=False, tooltip="the highest-loss targets of the chosen task (else the target's) in context"),
    Binding("s", "tasks_screen", "tasks", show=False, tooltip="per-task loss over the chosen runs, and how it moves with model size (D there chooses)"),
    Binding("question_mark", "help", "help", tooltip="this list of keys"),
    Binding("q", "quit", "quit", tooltip="quit (your place is kept for next time)"),
]  # fmt: skip
