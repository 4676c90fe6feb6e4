"""Fine-tuning as the notes stage it (微调): freeze the bottom, train the head, then unfreeze the top half, then all.

Functions for any torch model; the zoo models declare their parts (``head_names``: the final classifier layer(s);
``stage_names``: the backbone's stages, bottom to top — ResNet ``layer1``…``layer4``, VGG/AlexNet/LeNet conv
blocks split at pooling layers, DenseNet dense blocks, GoogLeNet inception groups). Other models fall back to:
head = the last ``nn.Linear``; stages = the remaining top-level children.

* :func:`trainable_modules` — the module names a stage trains: ``head`` (head only), ``top-half`` (head + the
  upper ``ceil(n/2)`` stages), ``all`` (every parameter).
* :func:`apply_stage` — ``requires_grad`` on exactly those parameters, and every BatchNorm outside them in eval
  mode (its running statistics frozen: a head trained on a frozen backbone must see the statistics it was
  pretrained with). Call it after ``model.train()`` (the engine does, every epoch).
* :func:`layer_lr_groups` — optimizer param groups with a learning rate ``lr · decay^depth``: the head at
  depth 0, the top stage at 1, …, the stem (everything else) deepest (layer-wise learning-rate decay).
* :func:`replace_head` — a new final ``nn.Linear`` for ``num_classes`` (the backbone untouched).
* :func:`load_backbone` — weights from a state_dict (``--init-from`` run, ``--pretrained`` file): every key
  must fit except the head's; RGB first-layer weights are summed over their input channels for grey data
  (as timm does: a grey image equals an RGB image with three equal channels, so summed weights give the same
  response).

Staging over epochs: ``--finetune head,top-half,all --stage-epochs 3,3,4`` trains stage 1 for epochs 1–3, stage
2 for 4–6, stage 3 for 7–10; one optimizer and one schedule cover the whole run (frozen parameters get no
gradient, so the optimizer skips them; an unfrozen parameter's momentum starts at its first step).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

STAGES = ("head", "top-half", "all")


def model_parts(model: nn.Module) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """``(head module names, stages bottom → top)`` as declared by the model, or the fallback."""
    head = getattr(model, "head_names", None)
    stages = getattr(model, "stage_names", None)
    if head is None:
        linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise ValueError(f"{type(model).__name__} declares no head_names and has no nn.Linear head")
        head = (linears[-1],)
    if stages is None:
        stages = tuple((n,) for n, _ in model.named_children() if not any(h == n or h.startswith(n + ".")
                                                                         for h in head))
    return tuple(head), tuple(tuple(s) for s in stages)


def _under(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def trainable_modules(model: nn.Module, stage: str) -> tuple[str, ...] | None:
    """Module names trained in ``stage`` (``None`` = everything)."""
    if stage not in STAGES:
        raise ValueError(f"finetune stage must be one of {', '.join(STAGES)}, got {stage!r}")
    head, stages = model_parts(model)
    if stage == "all":
        return None
    if stage == "head":
        return head
    top = stages[len(stages) - math.ceil(len(stages) / 2):]
    return head + tuple(n for s in top for n in s)


def apply_stage(model: nn.Module, stage: str) -> list[str]:
    """Freeze everything but ``stage``'s modules (see the module docstring); return the trainable parameter names."""
    keep = trainable_modules(model, stage)
    names = []
    for name, p in model.named_parameters():
        p.requires_grad_(keep is None or _under(name, keep))
        if p.requires_grad:
            names.append(name)
    if keep is not None:
        for name, m in model.named_modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and not _under(name, keep):
                m.eval()
    return names


def layer_lr_groups(model: nn.Module, lr: float, decay: float) -> list[dict[str, Any]]:
    """Param groups ``{"params", "lr", "name"}``: head at ``lr``, stage ``k`` from the top at ``lr·decay^k``,
    everything else (stem) at ``lr·decay^(n+1)``. ``decay = 1`` gives one rate."""
    head, stages = model_parts(model)
    levels: list[tuple[str, tuple[str, ...]]] = [("head", head)]
    levels += [(f"stage{len(stages) - k}", s) for k, s in enumerate(reversed(stages))]
    groups: list[dict[str, Any]] = [{"params": [], "lr": lr * decay**d, "name": n} for d, (n, _) in enumerate(levels)]
    rest: dict[str, Any] = {"params": [], "lr": lr * decay ** len(levels), "name": "stem"}
    for name, p in model.named_parameters():
        for g, (_, prefixes) in zip(groups, levels, strict=True):
            if _under(name, prefixes):
                g["params"].append(p)
                break
        else:
            rest["params"].append(p)
    return [g for g in [*groups, rest] if g["params"]]


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Replace the last ``nn.Linear`` of each head module by a fresh one with ``num_classes`` outputs."""
    head, _ = model_parts(model)
    for h in head:
        module = model.get_submodule(h)
        linears = [n for n, m in module.named_modules() if isinstance(m, nn.Linear)]
        if not linears:
            continue
        path = linears[-1]
        old = module.get_submodule(path) if path else module
        new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
        full = f"{h}.{path}" if path else h
        parent_name, _, attr = full.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, new)
    return model


def load_backbone(model: nn.Module, state: Mapping[str, Any], source: str, new_head: bool = True) -> list[str]:
    """Copy ``state`` into ``model`` in place, every non-head key required to fit; return the keys kept from the
    model's own initialization (the head's with ``new_head``, or when its shape differs). Errors name ``source``
    and the key."""
    head, _ = model_parts(model)
    own = model.state_dict()
    merged, fresh = {}, []
    for key, ref in own.items():
        if new_head and _under(key, head):
            fresh.append(key)
            continue
        if key not in state:
            if _under(key, head):
                fresh.append(key)
                continue
            raise ValueError(f"{source}: no weights for {key!r}; is it a state_dict of this model?")
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{source}: {key!r} is not a tensor")
        if tuple(value.shape) != tuple(ref.shape):
            if (value.ndim == 4 and ref.ndim == 4 and ref.shape[1] == 1 and value.shape[1] == 3
                    and value.shape[0] == ref.shape[0] and value.shape[2:] == ref.shape[2:]):
                value = value.sum(dim=1, keepdim=True)  # RGB first layer for grey data (timm's rule)
            elif _under(key, head):
                fresh.append(key)
                continue
            else:
                raise ValueError(f"{source}: {key!r} has shape {tuple(value.shape)}, the model needs "
                                 f"{tuple(ref.shape)}")
        merged[key] = value.to(ref.dtype)
    with torch.no_grad():
        model.load_state_dict({**own, **merged})
    return fresh


def load_pretrained_file(path: str) -> dict[str, Any]:
    """A torchvision-layout state_dict from ``path`` (``weights_only=True``; nothing is downloaded)."""
    import warnings
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--pretrained file not found: {p}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any load failure is one clear line
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"--pretrained {p}: cannot load a state_dict ({first})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise ValueError(f"--pretrained {p}: expected a state_dict (a dict of tensors)")
    return state


def stage_of_epoch(stages: Sequence[str], stage_epochs: Sequence[int], epoch: int) -> str:
    """The stage trained in ``epoch`` (1-based) under ``--finetune``/``--stage-epochs``."""
    end = 0
    for stage, n in zip(stages, stage_epochs, strict=True):
        end += n
        if epoch <= end:
            return stage
    return stages[-1]
