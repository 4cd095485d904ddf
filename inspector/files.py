"""Where inspector keeps scored tables and converted models, and how it writes there safely."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from inspector.errors import CacheError, message, os_reason


def _xdg_dir(variable: str, fallback: str) -> Path:
    """`$variable/inspector`, else `~/fallback/inspector` (the XDG base directories: a
    relative or empty value is ignored, as the specification says)."""
    base = os.environ.get(variable, "")
    return (Path(base) if os.path.isabs(base) else Path.home() / fallback) / "inspector"


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/inspector`, else `~/.cache/inspector`: what can be made again."""
    return _xdg_dir("XDG_CACHE_HOME", ".cache")


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/inspector`, else `~/.local/share/inspector`: what people made (labels)."""
    return _xdg_dir("XDG_DATA_HOME", ".local/share")


def ensure_dir(path: Path) -> Path:
    """`path`, created if needed; a clear error if that is not possible."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CacheError(message("cache_write", path=path, reason=e.strerror or e)) from e
    return path


def _umask() -> int:
    """The process's umask (read by setting it, so set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, renamed onto it only if the block succeeds.

    A crash or an error leaves whatever was at `target` untouched. The file gets the
    permissions a plain `open` would give it (the umask's), not mkstemp's private 0600:
    exports and parts are meant to be read by others (a team, Slurm or Ray jobs).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """A temporary folder beside `target`, renamed onto it only if the block succeeds; with
    the umask's permissions, as `atomic_path`."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def file_sha256(path: Path, memo_dir: Path | None = None) -> str:
    """sha256 of a file's bytes, remembered per (path, size, mtime) so big files hash once."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    memo_file = memo_dir / "file-hashes.json" if memo_dir else None
    memo: dict[str, str] = {}
    if memo_file and memo_file.exists():
        try:
            memo = json.loads(memo_file.read_text())
        except (OSError, ValueError):
            memo = {}  # a damaged memo only costs a re-hash
        if key in memo:
            return memo[key]
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    digest = h.hexdigest()
    if memo_file:
        memo[key] = digest
        with contextlib.suppress(OSError, CacheError):
            ensure_dir(memo_file.parent)
            with atomic_path(memo_file) as tmp:
                tmp.write_text(json.dumps(memo, indent=0))
    return digest


def check_new_file(path: Path, force: bool = False) -> None:
    """Everything that would stop `write_new` writing `path`, found before any work is done
    (a run can take minutes): an existing file without `force`, a folder, a missing or
    read-only parent folder."""
    from inspector.errors import ExportError

    if path.is_dir():
        raise ExportError(message("export_write", path=path, reason="it is a folder"))
    if path.exists() and not path.is_file():  # /dev/null: the rename would replace the device
        raise ExportError(message("export_write", path=path, reason="it is a device or FIFO"))
    if (path.exists() or path.is_symlink()) and not force:  # a dangling link is there too
        raise ExportError(message("export_exists", path=path))
    if not path.parent.is_dir():
        raise ExportError(message("export_write", path=path, reason=f"no folder {path.parent}"))
    if not os.access(path.parent, os.W_OK):
        raise ExportError(
            message("export_write", path=path, reason=f"the folder {path.parent} is not writable")
        )


def refuse_overwriting_inputs(
    out: Path, inputs: Sequence[Path | None], input_suffixes: Sequence[str] = ()
) -> None:
    """Refuse an output that is one of this command's inputs (even with --force: the input
    would be replaced by the output), or that lands in an input folder with a suffix the
    corpus readers would read back as part of the corpus next time."""
    from inspector.errors import ExportError

    target = out.resolve()
    for given in inputs:
        if given is None:
            continue
        source = given.resolve()
        same = target == source or (
            out.exists() and source.exists() and os.path.samefile(out, source)
        )
        if same:
            raise ExportError(message("out_is_input", out=out, given=given))
        if source.is_dir() and source in target.parents and target.suffix.lower() in input_suffixes:
            raise ExportError(message("out_in_corpus", out=out, given=given))


def check_output(
    out: Path, force: bool, inputs: Sequence[Path | str | None], corpus_suffixes: Sequence[str]
) -> None:
    """Every check of an export's --out, before any work: `check_new_file`, and never one of
    the command's `inputs` (corpus paths, tables, rules, probe suites) even with --force,
    nor a file with one of `corpus_suffixes` inside an input folder."""
    given = [Path(p) if p is not None else None for p in inputs]
    check_new_file(out, force)
    refuse_overwriting_inputs(out, given, corpus_suffixes)


def write_new(path: Path, write: Callable[[Path], object], force: bool = False) -> None:
    """Write `path` through a temporary file beside it: never over an existing file unless
    `force`, and an error leaves nothing half-written. For exports people keep."""
    from inspector.errors import ExportError

    check_new_file(path, force)
    try:
        with atomic_path(path) as tmp:
            write(tmp)
    except Exception as e:  # polars reports a failed write as its own error: see os_reason
        reason = os_reason(e)
        if reason is None:
            raise
        raise ExportError(message("write_failed", path=path, reason=reason, option="--out")) from e


def text_or_file(
    table: Any, fmt: str, text: Callable[[], str], out: Path | None, force: bool,
    error: type[Exception],
) -> str | None:  # fmt: skip
    """What every export does: with no `out`, the text (`text()`; a Parquet table has none:
    `error`); with one, the file written atomically, never over an existing one unless
    `force` (a Parquet `table` as Parquet, any other format as its text)."""
    if out is None:
        if fmt == "parquet":
            raise error("--format parquet needs --out FILE")
        return text()
    if fmt == "parquet":
        write_new(out, table.write_parquet, force)
    else:
        body = text()
        write_new(out, lambda tmp: tmp.write_text(body), force)
    return None
