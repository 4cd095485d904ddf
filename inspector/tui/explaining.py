"""Explaining a prediction from the app: where inside the model it forms (`L`, the logit
lens at the target under the cursor, in a screen of its own) and which earlier tokens it
leans on (`C`, the context coloured by attribution; `widgets/context_panel.ContextPanel`
computes it in its own worker and posts Ready or Failed). The computation is headless in
`run/depth` and `run/attribution`, where the CLI, the page and the Python API call it too."""

from __future__ import annotations

from functools import partial
from typing import Any

from inspector.tui.asking import AskingApp, _NoModel
from inspector.tui.screens.report import Note, Report, ReportScreen, Table


class ExplainingApp(AskingApp):
    """Asking, plus why the model predicted what it did: depth and context."""

    context_at: tuple[int, int] | None = None  # the target `C` coloured the context of
    _document_lens: tuple[list[int], Any] | None = None  # the depth screen's, of one document
    mode_before_context = "loss"  # the colouring `C` off returns to

    def _scored_target(self) -> tuple[dict[str, Any], Any] | None:
        """The target under the cursor and its document's rows, when there is a model to
        ask and the target is scored; otherwise None, said in a notice."""
        if self._no_model():
            return None
        row = self.session.row()
        rows = self.session.current
        if row is None or rows is None:
            self.notify("nothing is scored here yet", severity="warning", markup=False)
            return None
        return row, rows

    # -- where the prediction forms ----------------------------------------------------
    def action_depth(self) -> None:
        """The logit lens at the target under the cursor: what each layer would predict."""
        here = self._scored_target()
        if here is None:
            return
        row, rows = here
        tokens = rows.table["token_id"].to_list()
        title = f"depth: the logit lens at {row['token']!r} (pos {row['pos']})"
        self.push_screen(ReportScreen(title, partial(self._depth, tokens, row), self._waiting()))

    def _depth(self, tokens: list[int], row: dict[str, Any]) -> Report:
        from inspector.run.depth import target_depth

        try:
            asker = self.asker()
        except _NoModel as e:
            return Report([Note(str(e))])
        depth = target_depth(asker.lm, tokens, row["pos"], row["ctx_len"], self._lens_of(tokens))
        layers = depth.layers.height
        where = (f"top-1 from layer {depth.settled} of {layers} on" if depth.settled
                 else f"not top-1 after the last layer (rank {row['rank']:,})")  # fmt: skip
        first = f"; first top-1 at layer {depth.first_top1}" if depth.first_top1 else ""
        head = (
            f"target {row['token']!r}: {where}{first}\n"
            "each layer's residual stream through the model's final norm and output head; "
            "the last layer is the model's own prediction. Early layers of some models read "
            "poorly through the final head (the logit lens's known weakness)."
        )
        return Report([Note(head), Table("the true token at each layer", depth.layers)])

    # -- what the prediction leans on -------------------------------------------------
    def action_colour(self) -> None:
        from inspector.tui.widgets.document_view import DocumentView

        if self.query_one(DocumentView).mode == "context":  # the context's colours off first
            self.context_off()
        super().action_colour()

    def action_context(self) -> None:
        """Colour the context of the target under the cursor by its attribution to it
        (gradient x input), the largest contributors listed above the text; again: off."""
        from inspector.tui.widgets.context_panel import ContextPanel
        from inspector.tui.widgets.document_view import DocumentView

        view = self.query_one(DocumentView)
        if view.mode == "context":
            self.context_off()
            return
        here = self._scored_target()
        if here is None:
            return
        row, rows = here
        if row["pos"] == 0:
            no_context = "the first target has no context but the document start"
            self.notify(no_context, severity="warning", markup=False)
            return
        self.context_at = (self.session.doc, int(row["pos"]))
        self.query_one(ContextPanel).attribute(
            lambda: self.asker().lm, rows.table["token_id"].to_list(),
            rows.table["token"].to_list(), row, self.context_at,
            loading=self._loads_first(),
        )  # fmt: skip

    def on_context_panel_ready(self, message: Any) -> None:
        """The attribution is computed: colour the text by it, unless the reader moved on."""
        from inspector.tui.widgets.document_view import DocumentView
        from inspector.tui.widgets.legend import Legend

        if self.context_at != message.at:
            return
        view = self.query_one(DocumentView)
        if view.mode != "context":
            self.mode_before_context = view.mode
        view.set_context(message.found.buckets(message.targets))
        view.set_mode("context")
        self.query_one(Legend).show("context")

    def on_context_panel_failed(self, message: Any) -> None:
        self.notify(message.error, severity="error", markup=False)
        self.context_off()

    def context_off(self) -> None:
        """Back to the colouring in use before `C`; the context panel hidden."""
        from inspector.tui.widgets.context_panel import ContextPanel
        from inspector.tui.widgets.document_view import DocumentView
        from inspector.tui.widgets.legend import Legend

        self.context_at = None
        self.query_one(ContextPanel).hide()
        view = self.query_one(DocumentView)
        if view.mode == "context":
            view.set_mode(self.mode_before_context)
            self.query_one(Legend).show(self.mode_before_context)
        view.set_context(None)

    def _lens_of(self, tokens: list[int]) -> Any:
        """The document's kept lens (`run/depth.document_lens`): one document at a time."""
        from inspector.run.depth import document_lens

        lm = self.asker().lm
        kept = self._document_lens
        if kept is None or kept[0] != tokens:  # a race makes a second lens: both are right
            kept = self._document_lens = (tokens, document_lens(lm, tokens))
        return kept[1]
