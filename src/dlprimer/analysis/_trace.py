"""Private tracer shared by the complexity table and the receptive-field analysis.

One forward pass under a :class:`torch.overrides.TorchFunctionMode` sees every torch function and
tensor method the model calls (``F.conv2d``, ``torch.cat``, ``x + y``, ``x.flatten(1)`` …), while
forward pre/post hooks on every sub-module keep a stack of the module that is running. Each call is
recorded as an :class:`OpCall` owned by the innermost running module, so functional operations that
live in a container's ``forward`` (the residual add of a ResNet block, DenseNet's ``torch.cat``) are
seen too, not only leaf modules. Nested calls (``F.batch_norm`` calling ``torch.batch_norm``) are seen
once: the mode is switched off while it runs a function.

The pass runs on whatever device the model lives on; a model built under ``torch.device("meta")``
costs no arithmetic (shapes only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

ROOT = "(root)"


def op_name(func: Callable[..., Any]) -> str:
    """A stable short name for a torch function or tensor method (``Tensor.__iadd__`` → ``iadd``)."""
    name = getattr(func, "__name__", None)
    if name == "__get__":  # a tensor property such as ``x.shape``
        owner = getattr(func, "__self__", None)
        name = getattr(owner, "__name__", "property")
    if not isinstance(name, str):
        name = type(func).__name__
    if name.startswith("__") and name.endswith("__") and len(name) > 4:
        name = name[2:-2]
    return name


def flat_tensors(obj: Any) -> list[Tensor]:
    """All tensors inside nested tuples / lists / dicts, in order."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, list | tuple):
        return [t for item in obj for t in flat_tensors(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in flat_tensors(item)]
    return []


@dataclass
class OpCall:
    """One torch call seen during the traced forward pass."""

    owner: str  # qualified name of the innermost running module ("" for the root)
    owner_is_leaf: bool
    op: str  # short op name (see :func:`op_name`)
    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    output: Any
    index: int  # call order


@dataclass
class ModuleCall:
    """One call of a module: its output and the index range of the op calls inside it."""

    name: str
    output: Any
    first_op: int
    end_op: int
    order: int


@dataclass
class Trace:
    """Everything one traced forward pass saw."""

    ops: list[OpCall] = field(default_factory=list)
    module_calls: list[ModuleCall] = field(default_factory=list)
    modules: dict[str, nn.Module] = field(default_factory=dict)
    leaf: dict[str, bool] = field(default_factory=dict)
    output: Any = None


class _Recorder(TorchFunctionMode):
    def __init__(self, trace: Trace, stack: list[str], on_op: Callable[[OpCall], None] | None) -> None:
        super().__init__()
        self.trace = trace
        self.stack = stack
        self.on_op = on_op

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        owner = self.stack[-1] if self.stack else ""
        call = OpCall(
            owner=owner,
            owner_is_leaf=self.trace.leaf.get(owner, False),
            op=op_name(func),
            func=func,
            args=args,
            kwargs=kwargs,
            output=out,
            index=len(self.trace.ops),
        )
        self.trace.ops.append(call)
        if self.on_op is not None:
            self.on_op(call)
        return out


@contextmanager
def _hooks(
    model: nn.Module, trace: Trace, stack: list[str], on_module: Callable[[ModuleCall], None] | None
) -> Iterator[None]:
    handles = []
    starts: dict[str, list[int]] = {}

    def pre(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: Any) -> None:
            stack.append(name)
            starts.setdefault(name, []).append(len(trace.ops))

        return hook

    def post(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if stack and stack[-1] == name:
                stack.pop()
            first = starts[name].pop()
            call = ModuleCall(name, output, first, len(trace.ops), len(trace.module_calls))
            trace.module_calls.append(call)
            if on_module is not None:
                on_module(call)

        return hook

    for name, module in model.named_modules():
        trace.modules[name] = module
        trace.leaf[name] = next(iter(module.children()), None) is None
        handles.append(module.register_forward_pre_hook(pre(name)))
        handles.append(module.register_forward_hook(post(name)))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def run_trace(
    model: nn.Module,
    inputs: Tensor,
    on_op: Callable[[OpCall], None] | None = None,
    train: bool = False,
    on_module: Callable[[ModuleCall], None] | None = None,
) -> Trace:
    """Run ``model(inputs)`` once under the recorder, in eval mode unless ``train``.

    The module's mode is restored afterwards, and so are its buffers after a training-mode pass
    (BN running statistics), so profiling never changes the model.
    """
    trace = Trace()
    stack: list[str] = []
    was_training = model.training
    saved = {k: v.clone() for k, v in model.state_dict().items()} if train else None
    model.train(train)
    try:
        with _hooks(model, trace, stack, on_module), torch.no_grad(), _Recorder(trace, stack, on_op):
            trace.output = model(inputs)
    except RuntimeError as exc:  # e.g. an input too small for the network's pooling stages
        where = f" in {stack[-1]!r}" if stack and stack[-1] else ""
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"the forward pass failed for input shape {tuple(inputs.shape)}{where}: {first_line}") from exc
    finally:
        model.train(was_training)
        if saved is not None:  # a training-mode pass updates BN statistics: put them back
            model.load_state_dict(saved)
    return trace


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (cpu when it has none)."""
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of the model's first floating parameter (float32 when it has none)."""
    for t in model.parameters():
        if t.is_floating_point():
            return t.dtype
    return torch.float32
