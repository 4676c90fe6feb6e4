"""Box-aware data augmentation in torch (notes: 数据增强方式 1–11 and Label-smooth).

* :mod:`~dlprimer.augment.functional` -- deterministic ops equal to ``torchvision.transforms.v2.functional``
  (``hflip``, ``vflip``, ``crop``, ``resize``, ``rotate``, ``affine``, ``erase``, ``adjust_*``).
* sample-level random transforms (a *sample* is ``{"image", "boxes", "labels", "masks"}``, see
  :mod:`~dlprimer.augment.sample`): geometric, photometric, erasing; composed with ``Compose``,
  ``RandomApply``, ``OneOf``; every one takes an optional ``torch.Generator``.
* batch mixing (``MixUp``, ``CutMix``), multi-sample ``Mosaic``, ``DetectionMixUp``, ``CopyPaste`` drawn
  through ``MixingDataset``; ``smooth_labels`` for explicit label smoothing; ``detection_collate``.

>>> import torch
>>> from dlprimer import augment as A
>>> t = A.Compose([A.RandomHorizontalFlip(), A.RandomCrop(area=(0.6, 1.0)), A.ColorJitter()])
>>> s = {"image": torch.zeros(3, 32, 32, dtype=torch.uint8),
...      "boxes": torch.tensor([[4.0, 4.0, 20.0, 20.0]]), "labels": torch.tensor([1])}
>>> out = t(s, torch.Generator().manual_seed(0))
>>> out["boxes"].shape[1]
4
"""

from dlprimer.augment import functional
from dlprimer.augment.collate import detection_collate
from dlprimer.augment.compose import Compose, OneOf, RandomApply
from dlprimer.augment.copy_paste import CopyPaste, copy_paste, rectangle_masks
from dlprimer.augment.dataset import MixingDataset, as_sample
from dlprimer.augment.erasing import Cutout, RandomErasing, erase_sample
from dlprimer.augment.geometric import (
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomRotation,
    RandomScale,
    RandomVerticalFlip,
    Resize,
    crop_sample,
    resize_sample,
    warp_sample,
)
from dlprimer.augment.label_smoothing import optimal_logit_gap, smooth_labels, soft_target_cross_entropy
from dlprimer.augment.mixing import CutMix, DetectionMixUp, MixUp, cutmix, mixup, mixup_samples
from dlprimer.augment.mosaic import Mosaic, mosaic
from dlprimer.augment.photometric import ColorJitter, GaussianNoise
from dlprimer.augment.registry import AUGMENTATIONS, create, list_augmentations, register_augmentation
from dlprimer.augment.sample import (
    Sample,
    boxes_from_masks,
    drop_boxes,
    select_boxes,
    validate_sample,
)

__all__ = [
    "AUGMENTATIONS",
    "ColorJitter",
    "Compose",
    "CopyPaste",
    "CutMix",
    "Cutout",
    "DetectionMixUp",
    "GaussianNoise",
    "MixUp",
    "MixingDataset",
    "Mosaic",
    "OneOf",
    "RandomAffine",
    "RandomApply",
    "RandomCrop",
    "RandomErasing",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomScale",
    "RandomVerticalFlip",
    "Resize",
    "Sample",
    "as_sample",
    "boxes_from_masks",
    "copy_paste",
    "create",
    "crop_sample",
    "cutmix",
    "detection_collate",
    "drop_boxes",
    "erase_sample",
    "functional",
    "list_augmentations",
    "mixup",
    "mixup_samples",
    "mosaic",
    "optimal_logit_gap",
    "rectangle_masks",
    "register_augmentation",
    "resize_sample",
    "select_boxes",
    "smooth_labels",
    "soft_target_cross_entropy",
    "validate_sample",
    "warp_sample",
]
