"""Argument checks shared by every model builder."""

from __future__ import annotations


def check_model_args(num_classes: object, in_channels: object, small_input: object = False) -> None:
    """Validate the arguments every builder takes: positive ints and a bool, else ``ValueError``/``TypeError``."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f"in_channels must be a positive int, got {in_channels!r}")
    if not isinstance(small_input, bool):
        raise TypeError(f"small_input must be a bool, got {type(small_input).__name__}")


def pool_stages(features: object, prefix: str) -> tuple[tuple[str, ...], ...]:
    """Names (``prefix.i``) of the layers of a ``Sequential`` grouped into stages, each ending at a pooling layer.

    The fine-tuning stages of the plain conv stacks (LeNet, AlexNet, VGG): conv blocks split at pooling layers.
    Layers after the last pool join the last stage.
    """
    from torch import nn

    stages: list[tuple[str, ...]] = []
    current: list[str] = []
    for name, layer in features.named_children():  # type: ignore[attr-defined]
        current.append(f"{prefix}.{name}")
        if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            stages.append(tuple(current))
            current = []
    if current:
        if stages:
            stages[-1] = stages[-1] + tuple(current)
        else:
            stages.append(tuple(current))
    return tuple(stages)
