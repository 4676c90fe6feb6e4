"""Exponential moving average of the weights (YOLOv5's ``ModelEMA``; Polyak averaging).

After every optimizer step: ``ema ← d · ema + (1 − d) · θ`` for floating parameters and buffers (integer
buffers such as BatchNorm's counter are copied), with the warm-up ``d_t = decay · (1 − exp(−t / tau))`` so the
first updates follow the raw weights closely (an average over random initial weights would be useless).
Evaluation and the saved model use the EMA: it is smoother than the last iterate, worth a few AP points.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn

__all__ = ["ModelEMA"]


class ModelEMA:
    """EMA copy of ``model`` (see the module docstring); ``updates`` counts the steps taken."""

    def __init__(self, model: nn.Module, decay: float = 0.999, tau: float = 200.0) -> None:
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = float(decay), float(tau), 0

    def current_decay(self) -> float:
        return self.decay * (1 - math.exp(-self.updates / self.tau))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = self.current_decay()
        source = model.state_dict()
        for name, value in self.module.state_dict().items():
            if value.dtype.is_floating_point:
                value.mul_(d).add_(source[name].detach(), alpha=1 - d)
            else:
                value.copy_(source[name])

    def state_dict(self) -> dict[str, Any]:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
