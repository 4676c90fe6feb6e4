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
