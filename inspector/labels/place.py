"""Where labels are kept: `--db` when given, else one file in the user's data folder
(`$XDG_DATA_HOME/inspector/annotations.sqlite`, else `~/.local/share/inspector/`), never the
working folder. Every command that reads or writes labels asks here, so all agree.

A file `annotations.sqlite` in the working folder is where labels went before: when one is
there and no `--db` was given it is still used (its labels are never left behind), and the
note says so and where labels go otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inspector.errors import message
from inspector.files import default_data_dir
from inspector.labels.columns import AnnotationError

DB_NAME = "annotations.sqlite"


@dataclass(frozen=True)
class LabelDb:
    """The annotation database a command uses, and one line that says which and why."""

    path: Path
    note: str


def default_db() -> Path:
    """The default annotation database: `annotations.sqlite` in the user's data folder."""
    return default_data_dir() / DB_NAME


def label_db(given: Path | None, create: bool = False) -> LabelDb:
    """The database for `--db given` (None: not given). With `create` (a command that
    writes labels) the default's folder is made, private to the user (0700); without, a
    default that does not exist yet is an error that says there are no labels yet."""
    if given is not None:
        return LabelDb(given, f"labels: {given}")
    here = Path(DB_NAME)
    if here.exists():
        return LabelDb(here, f"labels: {here.absolute()}, found in this folder (labels made "
                       f"before they moved to {default_data_dir()}); --db chooses another")  # fmt: skip
    path = default_db()
    if create:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            raise AnnotationError(message("db_no_folder", path=path, parent=path.parent)) from e
    elif not path.exists():
        raise AnnotationError(
            message("no_labels", where=f"{path} (the default; --db FILE reads another)")
        )
    return LabelDb(path, f"labels: {path}")
