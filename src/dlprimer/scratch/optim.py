"""Optimizers with torch.optim's exact update rules (notes: SGD vs Adam; Adam 可能不收敛 → AMSGrad).

All state is plain NumPy arrays / Python scalars; ``state_dict()`` / ``load_state_dict()`` round-trip it
(keys: ``state`` — per parameter index, ``param_groups`` — hyper-parameters with parameter indices),
so a run can be checkpointed and resumed. Per step, for each parameter ``θ`` with gradient ``g``:

SGD (``torch.optim.SGD``)::

    g ← g + λθ                                    (weight_decay λ)
    b ← g  (first step),  b ← μb + (1 − τ)g       (momentum μ, dampening τ)
    g ← g + μb  (nesterov)   or   g ← b
    θ ← θ − η g

Adam (``torch.optim.Adam``; Kingma & Ba 2015) and AdamW (decoupled weight decay; Loshchilov & Hutter 2019)::

    Adam: g ← g + λθ            AdamW: θ ← θ(1 − ηλ)
    t ← t + 1;  m ← m + (1 − β₁)(g − m);  v ← β₂v + (1 − β₂)g²
    v̂ ← max(v̂, v) (amsgrad, Reddi et al. 2018) else v̂ = v
    θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + ε)

``maximize=True`` ascends (uses −g). Parameters whose ``.grad`` is None are skipped.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from dlprimer.scratch.autograd import Tensor


class Optimizer:
    """Base class: ``param_groups`` (list of dicts with ``"params"`` and hyper-parameters) and ``state``
    (``dict[param index → dict]``)."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self._params: list[Tensor] = []
        for g in groups:
            params_g = list(g["params"])
            for p in params_g:
                if not isinstance(p, Tensor):
                    raise TypeError(f"optimizer params must be Tensors, got {type(p).__name__}")
                if not p.requires_grad:
                    raise ValueError("optimizer params must require grad")
            group = {**defaults, **{k: v for k, v in g.items() if k != "params"}, "params": params_g}
            self.param_groups.append(group)
            self._params.extend(params_g)
        self.state: dict[int, dict[str, Any]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self._params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = np.zeros_like(p.grad)

    def _indexed(self) -> Iterable[tuple[dict[str, Any], int, Tensor]]:
        index = {id(p): i for i, p in enumerate(self._params)}
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield group, index[id(p)], p

    def step(self) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        index = {id(p): i for i, p in enumerate(self._params)}
        groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [index[id(p)] for p in g["params"]]}
                  for g in self.param_groups]
        return {"state": copy.deepcopy(self.state), "param_groups": copy.deepcopy(groups)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups, strict=True)):
            raise ValueError("state_dict's param_groups do not match this optimizer's parameter groups")
        for saved, group in zip(groups, self.param_groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {int(k): copy.deepcopy(v) for k, v in state_dict["state"].items()}


def _check_nonneg(name: str, value: float) -> None:
    if not value >= 0.0:
        raise ValueError(f"{name} must be ≥ 0, got {value!r}")


class SGD(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False) -> None:
        for name, v in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            _check_nonneg(name, v)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"nesterov momentum requires momentum > 0 and dampening = 0, got momentum={momentum}, "
                             f"dampening={dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def step(self) -> None:
        for group, i, p in self._indexed():
            g = -p.grad if group["maximize"] else p.grad
            if group["weight_decay"] != 0:
                g = g + group["weight_decay"] * p.data
            mu = group["momentum"]
            if mu != 0:
                st = self.state.setdefault(i, {})
                buf = st.get("momentum_buffer")
                if buf is None:
                    buf = np.array(g, copy=True)
                else:
                    buf *= mu
                    buf += (1 - group["dampening"]) * g
                st["momentum_buffer"] = buf
                g = g + mu * buf if group["nesterov"] else buf
            p.data -= group["lr"] * g


class Adam(Optimizer):
    _decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False) -> None:
        for name, v in (("lr", lr), ("eps", eps), ("weight_decay", weight_decay)):
            _check_nonneg(name, v)
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas must be in [0, 1), got {betas!r}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def step(self) -> None:
        for group, i, p in self._indexed():
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            g = -p.grad if group["maximize"] else p.grad
            if wd != 0:
                if self._decoupled:
                    p.data *= 1 - lr * wd
                else:
                    g = g + wd * p.data
            st = self.state.setdefault(i, {})
            if not st:
                st["step"] = 0.0
                st["exp_avg"] = np.zeros_like(p.data)
                st["exp_avg_sq"] = np.zeros_like(p.data)
                if group["amsgrad"]:
                    st["max_exp_avg_sq"] = np.zeros_like(p.data)
            st["step"] += 1.0
            m, v = st["exp_avg"], st["exp_avg_sq"]
            m += (g - m) * (1 - b1)  # lerp toward g
            v *= b2
            v += (1 - b2) * g * g
            t = st["step"]
            step_size = lr / (1 - b1**t)
            bc2_sqrt = math.sqrt(1 - b2**t)
            if group["amsgrad"]:
                np.maximum(st["max_exp_avg_sq"], v, out=st["max_exp_avg_sq"])
                denom = np.sqrt(st["max_exp_avg_sq"]) / bc2_sqrt + eps
            else:
                denom = np.sqrt(v) / bc2_sqrt + eps
            p.data -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (default ``weight_decay=1e-2``, as torch)."""

    _decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
