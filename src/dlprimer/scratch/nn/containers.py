"""``Sequential`` and ``ModuleList`` (notes: ModuleList 与 Sequential 的区别).

* ``Sequential`` registers its modules *and* defines ``forward``: each output feeds the next module, so
  consecutive shapes must agree.
* ``ModuleList`` only registers (parameters become the model's, ``train()``/``state_dict()`` reach them);
  it has no ``forward`` — the owner decides the order, e.g. in a loop over repeated blocks. A plain Python
  ``list`` would do neither: its modules' parameters would be invisible to ``parameters()`` and so to the
  optimizer.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from dlprimer.scratch.nn.module import Module


def _check_module(m: Any, where: str) -> Module:
    if not isinstance(m, Module):
        raise TypeError(f"{where} accepts Modules only, got {type(m).__name__}")
    return m


class Sequential(Module):
    """``Sequential(m0, m1, ...)`` (names ``"0"``, ``"1"``, ...) or ``Sequential(OrderedDict(name=m, ...))``."""

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, _check_module(m, "Sequential"))
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), _check_module(m, "Sequential"))

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        if not -len(items) <= idx < len(items):
            raise IndexError(f"index {idx} is out of range for a Sequential of length {len(items)}")
        return items[idx][1]

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), _check_module(module, "Sequential"))
        return self


class ModuleList(Module):
    """A list whose modules are registered (names ``"0"``, ``"1"``, ...). No ``forward``."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Any:
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(mods[idx])
        if not -len(mods) <= idx < len(mods):
            raise IndexError(f"index {idx} is out of range for a ModuleList of length {len(mods)}")
        return mods[idx]

    def __setitem__(self, idx: int, module: Module) -> None:
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a ModuleList of length {n}")
        self.add_module(str(idx % n), _check_module(module, "ModuleList"))

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), _check_module(module, "ModuleList"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        mods = list(self._modules.values())
        mods.insert(index, _check_module(module, "ModuleList"))
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(): iterate over it in the owner's forward")
