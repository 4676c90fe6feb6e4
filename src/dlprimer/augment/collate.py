"""``detection_collate``: batch samples that hold different numbers of boxes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from dlprimer.augment.sample import Sample

__all__ = ["detection_collate"]


Item = Sample | tuple[Tensor, Mapping[str, Tensor]]


def detection_collate(batch: Sequence[Item]) -> tuple[Tensor | list[Tensor], list[dict[str, Tensor]]]:
    """Collate for ``DataLoader(collate_fn=detection_collate)``.

    Items are sample dicts (``{"image", "boxes", ...}``) or ``(image, target_dict)`` pairs. Returns
    ``(images, targets)``: ``images`` is a ``[B, C, H, W]`` tensor when all images share one shape, else the
    list of images (as torchvision detection models accept); ``targets`` is the list of per-image dicts of
    everything but the image (``boxes [N_i, 4]``, ``labels [N_i]``, ...), ``N_i`` free to differ.
    """
    if not isinstance(batch, Sequence) or len(batch) == 0:
        raise ValueError("batch must be a non-empty sequence of samples")
    images: list[Tensor] = []
    targets: list[dict[str, Tensor]] = []
    for k, item in enumerate(batch):
        if isinstance(item, Mapping):
            if "image" not in item:
                raise ValueError(f"batch[{k}] has no 'image' key")
            images.append(item["image"])
            targets.append({key: v for key, v in item.items() if key != "image"})
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], Mapping):
            images.append(item[0])
            targets.append(dict(item[1]))
        else:
            raise TypeError(
                f"batch[{k}] must be a sample dict or an (image, target dict) pair, got {type(item).__name__}"
            )
    if all(isinstance(im, Tensor) and im.shape == images[0].shape for im in images):
        return torch.stack(images), targets
    return images, targets
