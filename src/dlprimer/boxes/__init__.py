"""Detection geometry in torch: box formats, the IoU family, NMS and its variants, ROI Pool / ROI Align,
anchors and YOLOv5 target assignment (notes: "目标检测基础知识").

Boxes are ``Tensor[N, 4]`` in ``xyxy`` unless said otherwise. Every op is vectorized torch, device
agnostic (CPU and CUDA), accepts float16/bfloat16/float32/float64 (half is upcast internally), and
matches torchvision where torchvision has the op; the IoU-family losses are in :mod:`dlprimer.nn.losses`.

>>> import torch
>>> from dlprimer import boxes
>>> b = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]])
>>> boxes.box_iou(b, b)[0, 1].item()
0.1428571492433548
>>> boxes.nms(b, torch.tensor([0.9, 0.8]), iou_threshold=0.1).tolist()
[0]
"""

from dlprimer.boxes.anchors import AnchorGenerator
from dlprimer.boxes.assign import yolov5_build_targets
from dlprimer.boxes.convert import box_area, box_convert, clip_boxes_to_image
from dlprimer.boxes.iou import box_iou, complete_box_iou, distance_box_iou, generalized_box_iou
from dlprimer.boxes.nms import batched_nms, nms
from dlprimer.boxes.roi_align import RoIAlign, roi_align
from dlprimer.boxes.roi_pool import RoIPool, roi_pool
from dlprimer.boxes.soft_nms import soft_nms
from dlprimer.boxes.voting import box_voting

__all__ = [
    "AnchorGenerator",
    "RoIAlign",
    "RoIPool",
    "batched_nms",
    "box_area",
    "box_convert",
    "box_iou",
    "box_voting",
    "clip_boxes_to_image",
    "complete_box_iou",
    "distance_box_iou",
    "generalized_box_iou",
    "nms",
    "roi_align",
    "roi_pool",
    "soft_nms",
    "yolov5_build_targets",
]
