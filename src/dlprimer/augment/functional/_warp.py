"""Deterministic rotation and affine warps of images and xyxy boxes, equal to torchvision.transforms.v2.

Same conventions as :mod:`._geometric`: ``rotate(angle)`` turns counter-clockwise by ``angle`` degrees about
the image centre, ``affine(angle, ...)`` uses v2's clockwise angle; both resample with ``grid_sample``
(``align_corners=False``, zeros or ``fill`` outside) and clamp the boxes -- the axis-aligned hulls of the 4
mapped corners -- to the output canvas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from dlprimer._checks import is_float_like
from dlprimer.augment._checks import check_boxes, check_image
from dlprimer.augment.functional._geometric import _RESAMPLE_MODES, _float_boxes
from dlprimer.boxes.convert import clip_boxes_to_image

__all__ = ["affine", "rotate"]

Fill = float | Sequence[float] | None


def _affine_matrix(
    center: Sequence[float],
    angle: float,
    translate: Sequence[float],
    scale: float,
    shear: Sequence[float],
    inverse: bool,
) -> list[float]:
    """Row-major 2x3 matrix of ``M = T(translate) C(center) R(angle) S(scale) Sh(shear) C^-1`` (or ``M^-1``).

    ``angle`` is clockwise in image coordinates (y down), degrees; shear angles in degrees along x and y.
    ``R S Sh`` = ``[[a, b], [c, d]] * scale`` with determinant ``scale**2``.
    """
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -(a * math.tan(sx) + math.sin(rot))
    c = math.sin(rot - sy) / math.cos(sy)
    d = math.cos(rot) - c * math.tan(sx)
    if inverse:  # M^-1 = C (RSS)^-1 C^-1 T^-1, and det [[a, b], [c, d]] = 1
        m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
        m[2] += cx - m[0] * (cx + tx) - m[1] * (cy + ty)
        m[5] += cy - m[3] * (cx + tx) - m[4] * (cy + ty)
    else:
        m = [a * scale, b * scale, 0.0, c * scale, d * scale, 0.0]
        m[2] += cx + tx - m[0] * cx - m[1] * cy
        m[5] += cy + ty - m[3] * cx - m[4] * cy
    return m


def _expanded_size(inverse_matrix: list[float], w: int, h: int) -> tuple[int, int]:
    """``(W', H')`` of the canvas holding the whole transformed image (rotate with ``expand=True``)."""
    hw, hh = 0.5 * w, 0.5 * h
    corners = torch.tensor([[-hw, -hh, 1.0], [-hw, hh, 1.0], [hw, hh, 1.0], [hw, -hh, 1.0]])  # [4, 3]
    theta = torch.tensor(inverse_matrix, dtype=torch.float32).view(2, 3)
    pts = corners @ theta.T  # [4, 2]
    lo, hi = pts.aminmax(dim=0)
    half = torch.tensor((hw, hh))
    # truncate to 1e-4 so that round-off like 1e-15 does not ceil to a whole extra pixel
    hi = ((hi + half) * 1e4).trunc() * 1e-4
    lo = ((lo + half) * 1e4).trunc() * 1e-4
    size = hi.ceil() - lo.floor()
    return int(size[0]), int(size[1])


def _sampling_grid(theta: Tensor, w: int, h: int, ow: int, oh: int) -> Tensor:
    """``[1, oh, ow, 2]`` grid for ``grid_sample``: output pixel centres (relative to the output centre)
    mapped by ``theta`` ``[1, 2, 3]`` and normalised by the input half-size."""
    dtype, device = theta.dtype, theta.device
    base = torch.empty(1, oh, ow, 3, dtype=dtype, device=device)  # [1, oh, ow, (x, y, 1)]
    base[..., 0].copy_(torch.linspace((1.0 - ow) * 0.5, (ow - 1.0) * 0.5, steps=ow, device=device))
    base[..., 1].copy_(torch.linspace((1.0 - oh) * 0.5, (oh - 1.0) * 0.5, steps=oh, device=device).unsqueeze_(-1))
    base[..., 2].fill_(1)
    scaled = theta.transpose(1, 2).div_(torch.tensor([0.5 * w, 0.5 * h], dtype=dtype, device=device))  # [1, 3, 2]
    return base.view(1, oh * ow, 3).bmm(scaled).view(1, oh, ow, 2)


def _grid_transform(image: Tensor, grid: Tensor, mode: str, fill: Fill) -> Tensor:
    """Resample ``image [..., C, H, W]`` at ``grid``; outside points get ``fill`` (default 0)."""
    c, h, w = image.shape[-3:]
    oh, ow = grid.shape[1:3]
    out_shape = image.shape[:-3] + (c, oh, ow)
    if image.numel() == 0:
        return image.new_zeros(out_shape)
    x = image.reshape(-1, c, h, w)  # [B, C, H, W]
    b = x.shape[0]
    fx = x if x.dtype == grid.dtype else x.to(grid.dtype)
    if b > 1:
        grid = grid.expand(b, -1, -1, -1)
    if fill is not None:  # a ones channel tells which output pixels came from inside the image
        fx = torch.cat((fx, torch.ones((b, 1, h, w), dtype=fx.dtype, device=fx.device)), dim=1)
    fx = F.grid_sample(fx, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is not None:
        fx, inside = torch.tensor_split(fx, indices=(-1,), dim=-3)
        inside = inside.expand_as(fx)
        values = list(fill) if isinstance(fill, Sequence) else [float(fill)]
        if len(values) not in (1, c):
            raise ValueError(f"fill must be a number or have one value per channel ({c}), got {fill!r}")
        fill_t = torch.tensor(values, dtype=fx.dtype, device=fx.device).view(1, -1, 1, 1)
        if mode == "nearest":
            fx = torch.where(inside < 0.5, fill_t.expand_as(fx), fx)
        else:
            fx = fx.sub_(fill_t).mul_(inside).add_(fill_t)  # inside * img + (1 - inside) * fill
    if fx.dtype != image.dtype:
        fx = fx.round_().to(image.dtype)
    return fx.reshape(out_shape)


def _transform_boxes(
    boxes: Tensor,
    matrix: list[float],
    canvas_size: tuple[int, int],
    shift: tuple[float, float] = (0.0, 0.0),
    clamp: bool = True,
) -> Tensor:
    """Axis-aligned hull of the 4 corners of each box mapped by the forward 2x3 ``matrix``, shifted by
    ``-shift`` and (when ``clamp``) clamped to ``canvas_size``."""
    if boxes.numel() == 0:
        return boxes.clone()
    b = _float_boxes(boxes)
    m = torch.tensor(matrix, dtype=b.dtype, device=b.device).reshape(2, 3).T  # [3, 2]
    corners = b[:, [[0, 1], [2, 1], [2, 3], [0, 3]]]  # [N, 4, 2]
    pts = torch.cat([corners, torch.ones_like(corners[..., :1])], dim=-1) @ m  # [N, 4, 2]
    lo, hi = pts.aminmax(dim=1)  # [N, 2] each
    out = torch.cat([lo, hi], dim=1)  # [N, 4]
    if shift != (0.0, 0.0):
        out = out - torch.tensor([shift[0], shift[1], shift[0], shift[1]], dtype=b.dtype, device=b.device)
    return (clip_boxes_to_image(out, canvas_size) if clamp else out).to(boxes.dtype)


def _check_resample(interpolation: str) -> None:
    if interpolation not in _RESAMPLE_MODES:
        raise ValueError(f"interpolation must be one of {_RESAMPLE_MODES}, got {interpolation!r}")


def affine(
    image: Tensor,
    angle: float,
    translate: Sequence[float],
    scale: float,
    shear: Sequence[float],
    boxes: Tensor | None = None,
    interpolation: str = "nearest",
    fill: Fill = None,
    center: Sequence[float] | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """Affine warp as ``v2.functional.affine``: rotate by ``angle`` degrees (clockwise on screen), scale,
    shear ``(sx, sy)`` degrees, then translate by ``(tx, ty)`` pixels, about ``center`` (default the image
    centre). Output has the input size; boxes are the hulls of their mapped corners, clamped."""
    check_image(image, batched=None)
    _check_resample(interpolation)
    if not (is_float_like(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if len(translate) != 2 or len(shear) != 2:
        raise ValueError(f"translate and shear must be pairs, got translate={translate!r}, shear={shear!r}")
    h, w = image.shape[-2:]
    ctr = [0.0, 0.0] if center is None else [float(center[0]) - 0.5 * w, float(center[1]) - 0.5 * h]
    tr, sh = [float(t) for t in translate], [float(s) for s in shear]
    inv = _affine_matrix(ctr, float(angle), tr, float(scale), sh, inverse=True)
    dtype = image.dtype if image.is_floating_point() else torch.float32
    theta = torch.tensor(inv, dtype=dtype, device=image.device).reshape(1, 2, 3)
    out = _grid_transform(image, _sampling_grid(theta, w, h, w, h), interpolation, fill)
    if boxes is None:
        return out
    check_boxes(boxes)
    pix_center = [0.5 * w, 0.5 * h] if center is None else [float(center[0]), float(center[1])]
    fwd = _affine_matrix(pix_center, float(angle), tr, float(scale), sh, inverse=False)
    return out, _transform_boxes(boxes, fwd, (h, w))


def rotate(
    image: Tensor,
    angle: float,
    boxes: Tensor | None = None,
    interpolation: str = "nearest",
    expand: bool = False,
    center: Sequence[float] | None = None,
    fill: Fill = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (default the image centre).

    ``expand=True`` enlarges the canvas to hold the whole rotated image. Multiples of 90 degrees about the
    centre are exact transposes (``torch.rot90``). Boxes: hull of the 4 rotated corners, clamped to the output
    image's canvas. (With ``expand=True`` v2 computes the boxes' canvas from a differently centred matrix, so
    its ``BoundingBoxes.canvas_size`` can exceed its own rotated image by one pixel; the box coordinates are
    the same, ours are clamped to the image actually returned.)
    """
    check_image(image, batched=None)
    _check_resample(interpolation)
    if boxes is not None:
        check_boxes(boxes)
    angle = float(angle) % 360.0
    h, w = image.shape[-2:]
    pix_center = [0.5 * w, 0.5 * h] if center is None else [float(center[0]), float(center[1])]
    fwd = _affine_matrix(pix_center, -angle, [0.0, 0.0], 1.0, [0.0, 0.0], inverse=False)
    ctr = [0.0, 0.0] if center is None else [pix_center[0] - 0.5 * w, pix_center[1] - 0.5 * h]
    inv = _affine_matrix(ctr, -angle, [0.0, 0.0], 1.0, [0.0, 0.0], inverse=True)
    ow, oh = _expanded_size(inv, w, h) if expand else (w, h)

    out: Tensor | None = None
    if center is None:  # exact fast paths
        if angle == 0:
            out = image.clone()
        elif angle == 180:
            out = torch.rot90(image, k=2, dims=(-2, -1))
        elif (expand or h == w) and angle in (90.0, 270.0):
            out = torch.rot90(image, k=1 if angle == 90 else 3, dims=(-2, -1))
    if out is None:
        dtype = image.dtype if image.is_floating_point() else torch.float32
        theta = torch.tensor(inv, dtype=dtype, device=image.device).reshape(1, 2, 3)
        out = _grid_transform(image, _sampling_grid(theta, w, h, ow, oh), interpolation, fill)
    if boxes is None:
        return out
    shift = _expand_shift(fwd, h, w, _float_boxes(boxes).dtype) if expand else (0.0, 0.0)
    return out, _transform_boxes(boxes, fwd, (oh, ow), shift)


def _expand_shift(fwd: list[float], h: int, w: int, dtype: torch.dtype) -> tuple[float, float]:
    """Top-left corner of the rotated frame: boxes move by minus this when the canvas is expanded."""
    frame = torch.tensor([[0.0, 0.0, 1.0], [0.0, h, 1.0], [w, h, 1.0], [w, 0.0, 1.0]], dtype=dtype)  # [4, 3]
    tl = (frame @ torch.tensor(fwd, dtype=dtype).reshape(2, 3).T).amin(dim=0)  # [2]
    return float(tl[0]), float(tl[1])
