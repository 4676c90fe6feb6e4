"""The two contracts of the training loop: an :class:`Engine` runs the updates, a :class:`Task` knows the data.

:func:`dlprimer.train.fit` is written against these two protocols only, so the loop, the run folder, resume,
early stopping and the crash-safety guarantees are the same for every task and both engines.

**Engine** (``TorchEngine``, the NumPy ``ScratchEngine``): owns the model, optimizer, schedule and AMP
state. It is built from a config and a task by :func:`dlprimer.train.engine.make_engine`, and

* ``steps_per_epoch`` — optimizer steps per epoch (the schedule is stepped per batch);
* ``train_epoch(epoch, on_batch)`` — one pass over ``task.train_dataset()``, seeded from ``(seed, epoch)``
  so that a resumed run sees the same batches; returns the epoch's training row
  (``{"train_loss": ..., "train_<metric>": ..., "lr": ...}``); it raises
  :class:`dlprimer.train.errors.DivergedError` at the first non-finite loss;
* ``predict(images)`` — the model's outputs in eval mode for a batch of prepared inputs (classification:
  float64 logits ``[N, num_classes]``);
* ``eval_model`` (torch engine) — the module evaluation uses: the EMA of the weights when the config keeps one
  (``ema``), else ``model``;
* ``state_dict()`` / ``load_state_dict(state)`` — everything needed to resume (model, optimizer, schedule,
  scaler), as tensors and plain Python values only (checkpoints load with ``weights_only=True``);
* ``model`` — the underlying model (``torch.nn.Module`` or scratch ``Module``).

**Task** (:class:`~dlprimer.train.classification.ClassificationTask`,
:class:`~dlprimer.train.detection.task.DetectionTask`): owns the data and what "good" means. Required members:

* ``kind`` (``"classification"`` or ``"detection"``), ``num_classes``, ``in_channels``, ``image_size``,
  ``class_names``;
* ``build_model(config) -> torch.nn.Module`` — the zoo model ``config.model`` with a head for
  ``num_classes`` (it raises a one-line ``ValueError`` when the input size is too small for the model);
* ``train_dataset() -> torch.utils.data.Dataset`` of ``(image Tensor[C, H, W], target)`` (with ``set_epoch(epoch)``
  when its augmentation is seeded per epoch); ``collate`` (``None`` for the default collate) and
  ``augment_batch(images, targets, generator)`` (batch-level augmentation after collation, e.g. random shifts;
  return the inputs unchanged for none). Targets are a tensor (labels) or a list of per-sample dicts of tensors
  (detection boxes and labels): the engine moves and splits either;
* ``compute_loss(model, images, targets) -> (loss, stats)`` — the scalar training loss of one batch and a
  dict of batch-mean statistics to report (classification: ``{"accuracy": ...}``); called under autocast;
* ``evaluate(engine, split) -> dict[str, float]`` — metrics of ``split`` (``"val"`` or ``"test"``), holding the
  config's ``monitor`` metric (the loop writes them as ``val_<name>`` in ``metrics.jsonl``; a non-finite
  ``"loss"``, when reported, stops the run as diverged);
* ``summary(engine) -> dict`` — the test-split summary written to ``summary.json`` (JSON values only);
* ``figures(engine, history, run_dir)`` — plots written into the run folder (atomic writes);
* ``data_info() -> dict`` — what identifies the data (stored in the checkpoint, checked on resume).

Optional members: ``evaluate_every`` (validate every that many epochs and after the last; default 1) and
``param_groups(model, config)`` (the optimizer's parameter groups, e.g. no weight decay on biases).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

BatchCallback = Callable[[int, float], None]
"""``on_batch(batch_index, loss)`` — called after each optimizer step."""


@runtime_checkable
class Engine(Protocol):
    """What :func:`dlprimer.train.fit` needs from a training engine (see the module docstring)."""

    steps_per_epoch: int
    model: Any

    def train_epoch(self, epoch: int, on_batch: BatchCallback | None = None) -> dict[str, float]: ...

    def predict(self, images: Any) -> Any: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@runtime_checkable
class Task(Protocol):
    """What :func:`dlprimer.train.fit` needs from a task (see the module docstring)."""

    kind: str
    num_classes: int
    in_channels: int
    image_size: int
    class_names: list[str]

    def build_model(self, config: Any) -> Any: ...

    def train_dataset(self) -> Any: ...

    collate: Callable[[list[Any]], Any] | None

    def augment_batch(self, images: Any, targets: Any, generator: Any) -> tuple[Any, Any]: ...

    def compute_loss(self, model: Any, images: Any, targets: Any) -> tuple[Any, dict[str, float]]: ...

    def evaluate(self, engine: Engine, split: str) -> dict[str, float]: ...

    def summary(self, engine: Engine) -> dict[str, Any]: ...

    def figures(self, engine: Engine, history: list[dict[str, Any]], run_dir: Path) -> None: ...

    def data_info(self) -> dict[str, Any]: ...
