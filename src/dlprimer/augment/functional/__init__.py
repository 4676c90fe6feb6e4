"""Deterministic functional forms, named and behaving as in ``torchvision.transforms.v2.functional``.

Geometric ops take an optional ``boxes=`` (``[N, 4]`` xyxy) and then return ``(image, boxes)``; they clamp
boxes to the image as v2 does and never drop any (dropping is done by the sample-level random transforms).
The random transforms of :mod:`dlprimer.augment` draw parameters and call these.
"""

from dlprimer.augment.functional._color import (
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    gaussian_noise,
    rgb_to_grayscale,
)
from dlprimer.augment.functional._geometric import crop, hflip, resize, vflip
from dlprimer.augment.functional._misc import erase
from dlprimer.augment.functional._warp import affine, rotate

horizontal_flip = hflip  # v2's long names
vertical_flip = vflip

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "affine",
    "crop",
    "erase",
    "gaussian_noise",
    "hflip",
    "horizontal_flip",
    "resize",
    "rgb_to_grayscale",
    "rotate",
    "vertical_flip",
    "vflip",
]
