"""`score --parts DIR --engine ray`: the shards of a streamed run as tasks of Ray Data.

Each of `workers` tasks runs one shard (`stream.score_to_parts` with `--shard i/N`), so the
parts, manifests and resuming are exactly those of a single-machine run; Ray schedules the
tasks on the cluster it is connected to (`RAY_ADDRESS`), or on a local instance. The corpus
and DIR must be paths every node can read and write. Ray is an optional extra:
`pip install 'inspector[ray]'`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspector.errors import InspectorError, message
from inspector.run.errors import USER_ERRORS


@dataclass(frozen=True)
class ShardJob:
    """Everything a worker needs to score one shard, as plain values Ray can ship."""

    paths: tuple[str, ...]
    text_field: str
    text_column: str
    model: str
    device: str
    dtype: str
    cache_dir: str
    config: dict[str, Any]
    rules: str | None
    out_dir: str
    part_chars: int
    workers: int


def run_shard(job: ShardJob, shard: int) -> dict[str, Any]:
    """Score shard `shard` of `job.workers` into `job.out_dir` (in a Ray worker)."""
    import torch

    from corpora import iter_corpus
    from inspector.lm.config import ScoreConfig
    from inspector.lm.loading import load_model
    from inspector.run.parts import score_to_parts
    from taggers.rules import load_rules

    torch.set_num_threads(1)  # Ray gave this task one CPU
    lm = load_model(job.model, Path(job.cache_dir), job.device, job.dtype)
    result = score_to_parts(
        iter_corpus(job.paths, job.text_field, job.text_column),
        lm,
        ScoreConfig(**job.config),
        load_rules(Path(job.rules) if job.rules else None),
        Path(job.out_dir),
        job.part_chars,
        (shard, job.workers),
    )
    return {
        "shard": shard,
        "documents": result.documents,
        "tokens": result.tokens,
        "written": result.written,
        "resumed": result.resumed,
    }


def score_with_ray(job: ShardJob) -> list[dict[str, Any]]:
    """Run every shard of `job` as a Ray Data task; returns one summary per shard."""
    try:
        import ray
    except ImportError as e:
        raise InspectorError(message("no_ray")) from e
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        ds = ray.data.from_items(
            [{"shard": i} for i in range(job.workers)], override_num_blocks=job.workers
        )

        def score(batch: dict[str, Any]) -> dict[str, Any]:
            rows = [run_shard(job, int(i)) for i in batch["shard"]]
            return {k: [r[k] for r in rows] for k in rows[0]}

        out = ds.map_batches(score, batch_size=1, num_cpus=1, concurrency=job.workers).take_all()
    except USER_ERRORS:
        raise
    except Exception as e:  # a task's error reaches us wrapped by Ray: keep its first line
        raise InspectorError(message("ray_failed", reason=str(e).strip().splitlines()[-1])) from e
    finally:
        if started_here:
            ray.shutdown()
    return sorted(out, key=lambda r: r["shard"])
