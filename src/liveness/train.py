"""`liveness train`: train_one_epoch and main; resumable, runs unchanged under torchrun."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler
from tqdm import tqdm

from liveness import metrics
from liveness.checkpoint import load_checkpoint, save_checkpoint
from liveness.config import LivenessConfig
from liveness.dataset import ClipDataset
from liveness.evaluate import evaluate, to_device
from liveness.model import LivenessNet


@dataclass
class TrainArgs:
    data: str
    out: str
    config: LivenessConfig = dataclasses.field(default_factory=LivenessConfig)
    epochs: int = 12
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 0.02
    warmup_steps: int = 100
    seed: int = 0
    imu_dropout: float = 0.15  # modality dropout: the model must also work without sensors
    imu_swap: float = 0.0  # live clips given mismatched motion become injections (dataset)
    aux_weight: float = 0.5  # weight of the ego-motion loss (models with motion_aux)
    threads: int = 0  # torch intra-op threads per process; 0 = leave torch's default
    workers: int = 0  # DataLoader worker processes
    max_steps: int = 0  # stop after this many optimiser steps (0 = run all epochs)
    resume: str | None = None
    calib_target: float = 0.01  # threshold rule: worst-species APCER <= this on val
    cache: bool = True
    progress: bool = True


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device). Under torchrun, joins the process group (gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def seed_everything(seed: int) -> None:
    # numpy randomness in this project always comes from explicit Generators, never the
    # global state; Python's and torch's global generators are seeded here.
    random.seed(seed)
    torch.manual_seed(seed)


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader[Any],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    class_weight: tuple[float, float],
    epoch: int,
    device: torch.device,
    max_steps: int = 0,
    progress: bool = True,
    aux_weight: float = 0.0,
) -> dict[str, float]:
    """One pass over the training loader; returns mean loss and accuracy."""
    model.train()
    w_spoof, w_live = class_weight
    tot_loss, tot_ok, n, steps = 0.0, 0.0, 0, 0
    bar = tqdm(loader, desc=f"epoch {epoch}", unit="batch", disable=not progress, leave=False)
    for batch in bar:
        b = to_device(batch, device)
        logits, ego, gyro = model(b["video"], b["imu"], b["imu_present"], return_motion=True)
        # Class balancing by loss weight (works with DistributedSampler, unlike resampling).
        weight = torch.where(b["label"] > 0.5, w_live, w_spoof)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, b["label"], weight=weight)
        # Ego-motion supervision: in a live clip the video turns as the gyro says.
        mask = (b["label"] > 0.5) & (b["imu_present"] > 0.5)
        if aux_weight and bool(mask.any()):
            loss = loss + aux_weight * nn.functional.mse_loss(ego[mask], gyro[mask])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        scheduler.step()
        k = len(logits)
        tot_loss += float(loss.detach()) * k
        tot_ok += float(((logits > 0).float() == b["label"]).sum())
        n += k
        steps += 1
        bar.set_postfix(loss=f"{tot_loss / n:.4f}", acc=f"{tot_ok / n:.3f}")
        if max_steps and steps >= max_steps:
            break
    return {"loss": tot_loss / max(n, 1), "acc": tot_ok / max(n, 1), "steps": float(steps)}


def weights_digest(model: nn.Module) -> str:
    """sha256 over all parameters and buffers: equal on every DDP rank after a step."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def plot_curves(history: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot(ep, [h["train_loss"] for h in history], "o-", label="train loss")
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("weighted BCE")
    ax[0].legend()
    ax[1].plot(ep, [h["val_auc"] for h in history], "o-", label="val AUC")
    ax[1].plot(ep, [h["val_eer"] for h in history], "s-", label="val EER")
    ax[1].plot(ep, [h["train_acc"] for h in history], "^-", label="train accuracy")
    ax[1].set_xlabel("epoch")
    ax[1].set_ylim(0, 1)
    ax[1].legend()
    fig.suptitle("training curves")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(args: TrainArgs) -> Path:
    """Train; rank 0 writes last.pt and best.pt (best val AUC), calibrates the threshold on the
    validation split and stores it in best.pt's configuration. Returns best.pt's path."""
    rank, world, device = setup_distributed()
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    out = Path(args.out)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    cfg = args.config
    start_epoch, best_auc, history = 0, -1.0, []
    ck = None
    if args.resume:
        ck = load_checkpoint(args.resume)
        cfg = LivenessConfig.from_dict(ck["config"])
    model = LivenessNet(cfg).to(device)
    pp = cfg.preprocess
    # The swap teaches motion consistency; pointless (pure label noise) without the IMU.
    swap = args.imu_swap if cfg.model.use_imu and cfg.model.use_video else 0.0
    train_ds = ClipDataset(
        args.data,
        "train",
        pp,
        train=True,
        imu_dropout=args.imu_dropout,
        cache=args.cache,
        imu_swap=swap,
    )
    val_ds = ClipDataset(args.data, "val", pp, train=False, cache=args.cache)
    if len(train_ds) == 0 or len(val_ds) == 0:
        raise ValueError(f"{args.data}: train and val splits must both be non-empty")
    n_live = float(train_ds.labels.sum())
    n_spoof = len(train_ds) - n_live
    if n_live == 0 or n_spoof == 0:
        raise ValueError(f"{args.data}: the train split needs both live and spoof clips")
    class_weight = (len(train_ds) / (2 * n_spoof), len(train_ds) / (2 * n_live))
    g = torch.Generator().manual_seed(args.seed)
    sampler = (
        DistributedSampler(train_ds, world, rank, shuffle=True, seed=args.seed)
        if world > 1
        else RandomSampler(train_ds, generator=g)
    )
    train_dl = DataLoader(
        train_ds,
        args.batch_size,
        sampler=sampler,
        num_workers=args.workers,
        drop_last=True,
        persistent_workers=args.workers > 0,
    )
    val_dl = DataLoader(val_ds, args.batch_size * 2, shuffle=False, num_workers=args.workers)
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    total = max(1, args.epochs * len(train_dl))
    if args.max_steps:
        total = min(total, args.max_steps)

    def lr_at(step: int) -> float:  # linear warm-up, then cosine to zero
        if step < args.warmup_steps:
            return (step + 1) / args.warmup_steps
        return 0.5 * (
            1
            + math.cos(
                math.pi * min(1.0, (step - args.warmup_steps) / max(1, total - args.warmup_steps))
            )
        )

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    if ck is not None:
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
        start_epoch, best_auc, history = ck["epoch"] + 1, ck["best_auc"], ck["history"]
        torch.set_rng_state(ck["rng_torch"])
    show = args.progress and rank == 0
    steps_done = int(sum(h.get("steps", 0) for h in history))
    for epoch in range(start_epoch, args.epochs):
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)
        t0 = time.time()
        left = args.max_steps - steps_done if args.max_steps else 0
        aux = args.aux_weight if cfg.model.motion_aux else 0.0
        tr = train_one_epoch(
            net, train_dl, optimizer, scheduler, class_weight, epoch, device, left, show, aux
        )
        steps_done += int(tr["steps"])
        if rank == 0:
            ev = evaluate(model, val_dl, device, show)
            val_auc = metrics.auc(ev["score"], ev["is_live"])
            val_eer, _ = metrics.eer(ev["score"], ev["is_live"])
            rec = {
                "epoch": epoch,
                "train_loss": tr["loss"],
                "train_acc": tr["acc"],
                "steps": tr["steps"],
                "val_auc": val_auc,
                "val_eer": val_eer,
                "seconds": time.time() - t0,
            }
            history.append(rec)
            print(json.dumps(rec), flush=True)
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch,
                "config": cfg.to_dict(),
                "train_args": {k: v for k, v in dataclasses.asdict(args).items() if k != "config"},
                "history": history,
                "rng_torch": torch.get_rng_state(),
                "best_auc": max(best_auc, val_auc),
            }
            save_checkpoint(out / "last.pt", state)
            if val_auc > best_auc:
                best_auc = val_auc
                save_checkpoint(out / "best.pt", state)
            plot_curves(history, out / "curves.png")
        if args.max_steps and steps_done >= args.max_steps:
            break
    if world > 1:
        # DDP keeps parameters in step; batch-norm running statistics are updated by each
        # rank's own last forward, so take rank 0's (the ones it saved) everywhere.
        for buf in model.buffers():
            dist.broadcast(buf, src=0)
        digest = weights_digest(model)
        (out / f"weights_rank{rank}.sha256").write_text(digest + "\n")
        dist.barrier()
    if rank == 0:
        calibrate(out / "best.pt", val_dl, device, args.calib_target, show)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return out / "best.pt"


def calibrate(
    best: Path, val_dl: DataLoader[Any], device: torch.device, target: float, progress: bool
) -> float:
    """Choose the threshold on the validation split (never on test) and store it in `best`."""
    ck = load_checkpoint(best)
    cfg = LivenessConfig.from_dict(ck["config"])
    model = LivenessNet(cfg).to(device)
    model.load_state_dict(ck["model"])
    ev = evaluate(model, val_dl, device, progress)
    thr = metrics.calibrate_threshold(
        ev["score"], ev["is_live"], ev["attack"], rule="apcer", target=target
    )
    rule = f"lowest threshold with worst-species APCER <= {target:g} on the validation split"
    ck["config"] = dataclasses.replace(cfg, threshold=float(thr), threshold_rule=rule).to_dict()
    save_checkpoint(best, ck)
    print(f"threshold {thr:.4f} ({rule})", flush=True)
    return float(thr)
