"""Training loop for the smoke tagger on the synthetic task."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import SmokeConfig
from .device import resolve_device
from .seed import numpy_rng, seed_everything
from .synthetic import Batch, SyntheticTask, collate
from .tagger import Tagger


@dataclass
class TrainResult:
    model: Tagger
    task: SyntheticTask
    losses: list[float]
    device: torch.device


def to_tensors(batch: Batch, device: torch.device) -> tuple[torch.Tensor, ...]:
    return tuple(
        torch.from_numpy(a).to(device) for a in (batch.word_ids, batch.char_ids, batch.lengths, batch.tags)
    )


def loss_decreased(losses: list[float], window: int, max_ratio: float) -> tuple[bool, float, float]:
    first = sum(losses[:window]) / window
    last = sum(losses[-window:]) / window
    return last <= max_ratio * first, first, last


def train_smoke(cfg: SmokeConfig, device: str | None = None) -> TrainResult:
    """Seeded training; the same config on the same device gives the same loss sequence."""
    seed_everything(cfg.train.seed)
    dev = resolve_device(device or cfg.train.device)
    task = SyntheticTask(cfg.data, cfg.model)
    data = task.sentences(cfg.data.num_sentences, cfg.data.seed)
    model = Tagger(cfg.model, num_tags=len(task.labels)).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    order = numpy_rng(cfg.train.seed)
    losses: list[float] = []
    model.train()
    for _ in range(cfg.train.steps):
        picks = order.choice(len(data), size=min(cfg.train.batch_size, len(data)), replace=False)
        word_ids, char_ids, lengths, tags = to_tensors(collate([data[i] for i in picks]), dev)
        optimizer.zero_grad(set_to_none=True)
        loss = model.loss(word_ids, char_ids, lengths, tags)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        optimizer.step()
        losses.append(float(loss.detach().cpu()))
    model.eval()
    return TrainResult(model=model, task=task, losses=losses, device=dev)
