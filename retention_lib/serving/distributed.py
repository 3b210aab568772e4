"""Fine-tuning on several processes with PyTorch's DistributedDataParallel, launched by ``torchrun``.

The same training step as everywhere in the book (:meth:`SentimentClassifier.train_step`), with the
model wrapped in ``DistributedDataParallel``: every process takes its share of each global batch,
gradients are averaged across processes after the backward pass, and every process applies the same
update, so the weights stay identical and the run equals one process on the whole global batch
(up to floating-point order). The backend is gloo on CPUs and nccl on GPUs.

    torchrun --nproc_per_node 2 -m retention_lib.sentiment.distributed \\
        --checkpoint DIR --steps 3 --global-batch 8 --out OUT       # DIR: a local encoder folder

Each process writes ``OUT/rank<r>.pt`` (its final weights); process 0 also writes ``OUT/losses.json``
(the loss of every step, averaged over the global batch).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from retention_lib.data import load
from retention_lib.sentiment.classifier import SentimentClassifier
from retention_lib.sentiment.labels import make_dataset


def run(
    checkpoint: str,
    texts: list[str],
    labels: list[int],
    steps: int,
    global_batch: int,
    out: Path,
    learning_rate: float = 1e-3,
    seed: int = 0,
    pooling: str = "cls",
    max_length: int = 32,
) -> list[float]:
    """Train ``steps`` steps of ``global_batch`` examples, split across the processes of the current
    ``torch.distributed`` group (or alone when there is none). Returns the global mean loss per step."""
    import torch
    import torch.distributed as dist

    distributed = dist.is_available() and dist.is_initialized()
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    if global_batch % world:
        raise ValueError(f"global_batch ({global_batch}) must be divisible by the number of processes ({world})")
    if len(texts) < steps * global_batch:
        raise ValueError(f"need {steps * global_batch} examples for {steps} steps of {global_batch}, got {len(texts)}")
    device = f"cuda:{rank % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"
    clf = SentimentClassifier.from_pretrained(
        checkpoint, max_length=max_length, seed=seed, pooling=pooling, device=device
    )
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        clf.model = DistributedDataParallel(clf.model, device_ids=[rank] if device.startswith("cuda") else None)
    opt = torch.optim.SGD([p for p in clf.model.parameters() if p.requires_grad], lr=learning_rate)
    ids = clf.encode(texts)
    local = global_batch // world
    losses = []
    clf.model.train()
    for s in range(steps):
        batch = list(range(s * global_batch + rank * local, s * global_batch + (rank + 1) * local))
        x, m = clf.collate([ids[i] for i in batch], pad_to=max_length)
        y = torch.as_tensor([labels[i] for i in batch], device=device)
        loss = torch.tensor(clf.train_step(x, m, y, opt), device=device)
        if distributed:
            dist.all_reduce(loss)
            loss /= world
        losses.append(float(loss))
    model = clf.model.module if distributed else clf.model
    out.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, out / f"rank{rank}.pt")
    if rank == 0:
        (out / "losses.json").write_text(json.dumps({"world_size": world, "losses": losses}))
    return losses


def _toy_data(n: int, seed: int) -> tuple[list[str], list[int]]:
    """Short labelled sentences over a tiny vocabulary (for the tests' tiny checkpoint)."""
    rng = np.random.default_rng(seed)
    words = [["bad", "awful", "hate"], ["okay", "fine"], ["good", "great", "love"]]
    labels = rng.integers(0, 3, n).tolist()
    return [f"the dress is {rng.choice(words[k])}" for k in labels], labels


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Distributed fine-tuning steps (run under torchrun).")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--global-batch", type=int, default=8)
    ap.add_argument("--learning-rate", type=float, default=1e-2)
    ap.add_argument("--pooling", default="cls", choices=["cls", "mean"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--data",
        default="reviews",
        choices=["reviews", "toy"],
        help="real reviews (3 classes, shuffled by the seed) or the tests' toy sentences",
    )
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    import torch
    import torch.distributed as dist

    torch.use_deterministic_algorithms(True, warn_only=True)
    launched = "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1
    if launched:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        n = args.steps * args.global_batch
        if args.data == "toy":
            texts, labels = _toy_data(n, args.seed)
        else:
            df = make_dataset(load("reviews"), "3class")[0].sample(n, random_state=args.seed)
            texts, labels = df["text"].tolist(), df["label"].astype(int).tolist()
        run(
            args.checkpoint,
            texts,
            labels,
            args.steps,
            args.global_batch,
            args.out,
            args.learning_rate,
            args.seed,
            args.pooling,
        )
    finally:
        if launched:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
