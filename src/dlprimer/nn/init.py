"""Weight initialization by name, applied per layer type (the notes' 参数初始化方法 and ``weights_init``).

Schemes (``fan_in = C_in·k_h·k_w``, ``fan_out = C_out·k_h·k_w`` for a conv, ``in``/``out`` features for FC):

====================  =====================================================  =============================
name                  weights drawn from                                     suited to
====================  =====================================================  =============================
``xavier_uniform``    U(−a, a), ``a = gain · √(6 / (fan_in + fan_out))``       tanh / sigmoid (zero-centred)
``xavier_normal``     N(0, ``gain² · 2 / (fan_in + fan_out)``)                 tanh / sigmoid
``kaiming_uniform``   U(−b, b), ``b = √2 · √(3 / fan_in)``                     ReLU (He et al., 2015)
``kaiming_normal``    N(0, ``2 / fan_in``)  (the notes' MSRA/He init)           ReLU
``normal``            N(0, 0.01²)                                              shallow nets (the notes' N(0, 0.01))
``zeros``             0 — every neuron of a layer stays identical (symmetry)   the last layer / logistic regression
``default``           leave PyTorch's own initialization                      —
====================  =====================================================  =============================

Conv and linear biases are set to 0; BatchNorm/GroupNorm/LayerNorm weights to 1 and biases to 0.

The notes' snippet matches class names with ``classname.find('Conv2d')`` and calls
``nn.init.constant_(m.bias.data, 0.0)``: it crashes on layers built with ``bias=False`` (``m.bias`` is
``None``) and on wrappers whose name merely contains ``Conv2d``. Here layers are matched with
``isinstance`` and a missing bias is skipped. The notes' ``np.random.randn(n_in, n_out) / np.sqrt(n_in/2)``
is ``kaiming_normal`` (std ``√(2/n_in)``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from dlprimer._registry import Registry

__all__ = ["INIT_SCHEMES", "init_weights", "list_inits"]

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)


def _gain(nonlinearity: str) -> float:
    return nn.init.calculate_gain(nonlinearity)


#: name → ``fill(weight, nonlinearity)`` (``None`` for ``default``: leave PyTorch's initialization)
INIT_SCHEMES: Registry[Callable[[torch.Tensor, str], object] | None] = Registry("init scheme")
for _name, _fill in {
    "xavier_uniform": lambda w, act: nn.init.xavier_uniform_(w, gain=_gain(act)),
    "xavier_normal": lambda w, act: nn.init.xavier_normal_(w, gain=_gain(act)),
    "kaiming_uniform": lambda w, act: nn.init.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu"),
    "kaiming_normal": lambda w, act: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu"),
    "normal": lambda w, act: nn.init.normal_(w, mean=0.0, std=0.01),
    "zeros": lambda w, act: nn.init.zeros_(w),
    "default": None,
}.items():
    INIT_SCHEMES.add(_name, _fill)


def list_inits() -> list[str]:
    """Names accepted by :func:`init_weights` (``INIT_SCHEMES.names()``)."""
    return INIT_SCHEMES.names()


def init_weights(model: nn.Module, scheme: str = "kaiming_normal", nonlinearity: str = "linear") -> nn.Module:
    """Initialize every conv / linear / normalization layer of ``model`` in place; returns ``model``.

    ``nonlinearity`` sets the Xavier gain (``"linear"`` → 1, ``"tanh"`` → 5/3, ``"relu"`` → √2). Uses the
    global torch RNG: seed it (``dlprimer.train.seed_everything``) for reproducible weights.
    """
    fill = INIT_SCHEMES.get(scheme)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if fill is None:
        return model
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, _WEIGHTED):
                fill(module.weight, nonlinearity)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, _NORMS) and getattr(module, "weight", None) is not None:
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
    return model
