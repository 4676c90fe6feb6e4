"""``Parameter`` and ``Module``: registration through attributes (notes: function 与 module).

Assigning a :class:`Parameter` or a :class:`Module` to an attribute *registers* it (in ``_parameters`` /
``_modules``), which is how ``parameters()``, ``state_dict()``, ``train()``/``eval()`` and ``zero_grad()``
find everything recursively. Anything else — including a plain Python ``list`` of modules — is an ordinary
attribute that none of those see; that is why ``ModuleList`` exists. Buffers (``register_buffer``) are
ndarrays that belong in the ``state_dict`` but are not trained (BatchNorm's running statistics).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dlprimer.scratch.autograd import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (``requires_grad=True`` by default)."""

    def __init__(self, data: ArrayLike, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers and models: subclass, assign parameters/submodules in ``__init__`` and write
    ``forward``. ``module(x)`` calls ``forward(x)``. ``training`` switches BN/dropout behaviour."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("Module.__init__() must be called before assigning attributes")
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        if isinstance(value, (Parameter, Module)) or name in self.__dict__.get("_buffer_names", ()):
            self.__dict__.pop(name, None)  # a plain attribute of that name would shadow the registered value
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = None if value is None else np.asarray(value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        for store in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(store)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"param must be a Parameter or None, got {type(param).__name__}")
        self._parameters[name] = param

    def register_buffer(self, name: str, array: ArrayLike | None) -> None:
        """Register an ndarray (or None) that is saved in ``state_dict`` but not trained."""
        names = self.__dict__.setdefault("_buffer_names", set())
        names.add(name)
        self._buffers[name] = None if array is None else np.asarray(array)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"module must be a Module or None, got {type(module).__name__}")
        self._modules[name] = module

    # ------------------------------------------------------------ forward
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:  # pre-order, children in registration order
            name, mod = stack.pop()
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            yield name, mod
            children = [(f"{name}.{n}" if name else n, m) for n, m in mod._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for n, m in self._modules.items():
            if m is not None:
                yield n, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mname, mod in mods:
            for pname, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, NDArray[Any]]]:
        for mname, mod in self.named_modules(prefix):
            for bname, b in mod._buffers.items():
                if b is not None:
                    yield (f"{mname}.{bname}" if mname else bname), b

    def buffers(self) -> Iterator[NDArray[Any]]:
        for _, b in self.named_buffers():
            yield b

    # ------------------------------------------------------------ modes and utilities
    def train(self, mode: bool = True) -> Module:
        """Set training mode (BatchNorm uses batch statistics, Dropout drops) recursively."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """``train(False)``: BatchNorm uses running statistics, Dropout is the identity."""
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on ``self``, as torch does."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, dtype: Any) -> Module:
        """Convert every parameter and floating buffer to ``dtype`` in place (``.double()`` = float64)."""
        for m in self.modules():
            for name, p in m._parameters.items():
                if p is not None:
                    p.data = p.data.astype(dtype)
                    p.grad = None
                    m._parameters[name] = p
            for name, b in m._buffers.items():
                if b is not None and np.issubdtype(b.dtype, np.floating):
                    m._buffers[name] = b.astype(dtype)
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # ------------------------------------------------------------ state
    def state_dict(self) -> OrderedDict[str, NDArray[Any]]:
        """Copies of every parameter and buffer as ndarrays, keyed like torch (``features.0.weight``):
        each module's own parameters, then its buffers, then its children's entries."""
        out: OrderedDict[str, NDArray[Any]] = OrderedDict()
        for mname, mod in self.named_modules():
            pre = f"{mname}." if mname else ""
            for n, p in mod._parameters.items():
                if p is not None:
                    out[pre + n] = p.data.copy()
            for n, b in mod._buffers.items():
                if b is not None:
                    out[pre + n] = np.array(b, copy=True)
        return out

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays into the registered parameters/buffers (dtype kept, shape checked).

        ``strict``: missing or unexpected keys raise ``KeyError`` listing them. A shape mismatch always
        raises ``ValueError`` naming the key and both shapes.
        """
        own: dict[str, tuple[Module, str, bool]] = {}
        for mname, mod in self.named_modules():
            pre = f"{mname}." if mname else ""
            for n, p in mod._parameters.items():
                if p is not None:
                    own[pre + n] = (mod, n, True)
            for n, b in mod._buffers.items():
                if b is not None:
                    own[pre + n] = (mod, n, False)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        for key, (mod, n, is_param) in own.items():
            if key not in state_dict:
                continue
            value = np.asarray(state_dict[key])
            current = mod._parameters[n].data if is_param else mod._buffers[n]
            if value.shape != current.shape:
                raise ValueError(f"load_state_dict: {key} has shape {current.shape} in the model but "
                                 f"{value.shape} in state_dict")
            if is_param:
                mod._parameters[n].data = value.astype(current.dtype, copy=True)
            else:
                mod._buffers[n] = value.astype(current.dtype, copy=True)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({n}): " + repr(m).replace("\n", "\n  ") for n, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
