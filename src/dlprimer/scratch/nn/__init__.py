"""``dlprimer.scratch.nn``: Module / Parameter, Sequential / ModuleList and layers named as in torch.nn."""

from dlprimer.scratch.nn.activation import LeakyReLU, LogSoftmax, PReLU, ReLU, Sigmoid, SiLU, Softmax, Swish, Tanh
from dlprimer.scratch.nn.containers import ModuleList, Sequential
from dlprimer.scratch.nn.layers import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    Linear,
    MaxPool2d,
    SpatialPyramidPool,
)
from dlprimer.scratch.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, SmoothL1Loss
from dlprimer.scratch.nn.module import Module, Parameter
from dlprimer.scratch.nn.norm import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm

__all__ = [
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d",
    "BatchNorm2d", "Conv2d", "CrossEntropyLoss", "Dropout", "Flatten", "GroupNorm", "Identity", "InstanceNorm2d",
    "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module", "ModuleList",
    "PReLU", "Parameter", "ReLU", "Sequential", "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax",
    "SpatialPyramidPool", "Swish", "Tanh",
]
