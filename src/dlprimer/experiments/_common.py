"""Small shared pieces of the experiments: data, tiny MLPs, a plain training loop, figures.

Everything runs on the CPU in float64 with explicit generators, so a seed fixes every number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "identity": nn.Identity,
}


def figure(ncols: int = 1, nrows: int = 1, width: float = 4.8, height: float = 3.6) -> tuple[Any, Any]:
    """A matplotlib ``Figure`` (no pyplot state, nothing to close) and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes[0, 0] if ncols * nrows == 1 else axes.ravel()


def generator(seed: int, offset: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + offset)


@dataclass(frozen=True)
class Split:
    """``x [N, D] float64``, ``y [N] int64`` for train / val (torch tensors)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


@lru_cache(maxsize=8)
def _digits(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from dlprimer.data.digits import load_digits_arrays

    d = load_digits_arrays(seed=seed, size=8)
    return (d.train.images.reshape(len(d.train.labels), -1), d.train.labels,
            d.test.images.reshape(len(d.test.labels), -1), d.test.labels)


def digits(seed: int, n_train: int | None = None, n_val: int | None = None) -> Split:
    """The embedded 8×8 digits as 64 standardized features: train split (first ``n_train``) and the test
    split (first ``n_val``) as validation. Stratified, deterministic in ``seed``."""
    xt, yt, xv, yv = _digits(seed)
    n_train = len(yt) if n_train is None else n_train
    n_val = len(yv) if n_val is None else n_val
    return Split(torch.tensor(xt[:n_train], dtype=torch.float64), torch.tensor(yt[:n_train], dtype=torch.long),
                 torch.tensor(xv[:n_val], dtype=torch.float64), torch.tensor(yv[:n_val], dtype=torch.long))


def spiral(seed: int, n: int = 300, classes: int = 3, noise: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """The classic 2-D spiral classification set (cs231n): ``x [n, 2] float64``, ``y [n] int64``."""
    rng = np.random.default_rng(seed)
    per = n // classes
    xs, ys = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1.0, per)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, per) + rng.normal(0, noise, per)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        ys.append(np.full(per, c))
    return torch.from_numpy(np.concatenate(xs)).double(), torch.from_numpy(np.concatenate(ys)).long()


def mlp(sizes: Sequence[int], activation: str = "relu", norm: str | None = None) -> nn.Sequential:
    """Linear layers ``sizes[0] → … → sizes[-1]`` with ``activation`` (and ``norm`` ∈ {None, "bn", "gn"})
    between them, float64."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if norm == "bn":
                layers.append(nn.BatchNorm1d(b))
            elif norm == "gn":
                layers.append(nn.GroupNorm(min(8, b), b))
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers).double()


def linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def init_linears(model: nn.Module, scheme: str, std: float = 0.01, const: float = 0.1) -> None:
    """Initialize every Linear of ``model``: ``zeros``, ``const``, ``normal`` (std), ``xavier``, ``he``;
    biases to zero."""
    with torch.no_grad():
        for lin in linears(model):
            w = lin.weight
            if scheme == "zeros":
                w.zero_()
            elif scheme == "const":
                w.fill_(const)
            elif scheme == "normal":
                w.normal_(0.0, std)
            elif scheme == "xavier":
                nn.init.xavier_normal_(w)
            elif scheme == "he":
                nn.init.kaiming_normal_(w, nonlinearity="relu")
            else:  # pragma: no cover - internal
                raise AssertionError(scheme)
            if lin.bias is not None:
                lin.bias.zero_()


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float | Callable[[int], float],
    gen: torch.Generator,
    optimizer: str = "sgd",
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    clip: float | None = None,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    callback: Callable[[int], None] | None = None,
) -> list[float]:
    """Mini-batch training for ``steps`` updates (batches drawn by a seeded permutation per epoch).

    ``lr`` may be a schedule ``step -> lr``. Returns the training loss of every step (``nan`` once the loss
    is no longer finite; training then stops).
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    lr0 = lr(0) if callable(lr) else lr
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(params, lr=lr0, momentum=momentum, weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=lr0, weight_decay=weight_decay)
    model.train()
    n = len(y)
    losses: list[float] = []
    order = torch.randperm(n, generator=gen)
    pos = 0
    for step in range(steps):
        if pos + batch_size > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        xb = x[idx] if augment is None else augment(x[idx], gen)
        if callable(lr):
            for g in opt.param_groups:
                g["lr"] = lr(step)
        loss = loss_fn(model(xb), y[idx])
        if not torch.isfinite(loss):
            losses.extend([float("nan")] * (steps - step))
            break
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        losses.append(float(loss.detach()))
        if callback is not None:
            callback(step)
    model.eval()
    return losses


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    out = model(x)
    if not torch.isfinite(out).all():
        return 0.0
    return float((out.argmax(1) == y).double().mean())


@torch.no_grad()
def mean_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float(nn.functional.cross_entropy(model(x), y))


def smooth(values: Sequence[float], k: int = 10) -> np.ndarray:
    """Trailing moving average (for plotting noisy loss curves)."""
    v = np.asarray(values, dtype=float)
    if len(v) < k:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    head = c[1:k] / np.arange(1, k)
    return np.concatenate([head, (c[k:] - c[:-k]) / k])
