"""``dlprimer.scratch.functional``: the ops under ``torch.nn.functional``'s names and argument names.

Every function takes :class:`~dlprimer.scratch.autograd.Tensor` s (plain ndarrays are wrapped as constants)
and returns a Tensor whose backward is hand-written beside its forward in ``dlprimer.scratch.ops``.
"""

from __future__ import annotations

from dlprimer.scratch.ops.activation import (
    leaky_relu,
    log_softmax,
    prelu,
    relu,
    sigmoid,
    silu,
    softmax,
    swish,
    tanh,
)
from dlprimer.scratch.ops.conv import conv2d, convolve2d, pad2d
from dlprimer.scratch.ops.dropout import dropout
from dlprimer.scratch.ops.linear import linear
from dlprimer.scratch.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
    sigmoid_focal_loss,
    smooth_l1_loss,
)
from dlprimer.scratch.ops.norm import batch_norm, group_norm, instance_norm, layer_norm
from dlprimer.scratch.ops.pool import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    max_pool2d,
    spatial_pyramid_pool,
    spp_output_length,
)

__all__ = [
    "adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv2d", "convolve2d", "cross_entropy", "dropout", "group_norm",
    "instance_norm", "l1_loss", "layer_norm", "leaky_relu", "linear", "log_softmax", "max_pool2d", "mse_loss",
    "nll_loss", "pad2d", "prelu", "relu", "sigmoid", "sigmoid_focal_loss", "silu", "smooth_l1_loss", "softmax",
    "spatial_pyramid_pool", "spp_output_length", "swish", "tanh",
]
