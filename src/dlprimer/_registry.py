"""The one registry: name → object, for models, augmentations, schedules, init schemes, optimizers, AP
methods, detectors and experiments.

Every registry of dlprimer is a :class:`Registry`, so every one behaves alike: names are lower-case,
registering a name twice is an error, and an unknown name raises one ``ValueError`` that lists the known
names (``unknown model 'resnet' ; known models: alexnet, ...``). The CLI's ``list`` commands print
:meth:`Registry.names`, so every name a user sees can be passed back.

>>> from dlprimer._registry import Registry
>>> colours = Registry("colour")
>>> @colours.register("red")
... def red() -> str:
...     return "#f00"
>>> colours.create("red")
'#f00'
>>> colours.names()
['red']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
F = TypeVar("F")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """A named table of builders (or plain objects) of one kind.

    ``kind`` is the singular noun used in messages ("model", "schedule", "augmentation"); ``plural`` defaults to
    ``kind + "s"``.
    """

    def __init__(self, kind: str, plural: str | None = None) -> None:
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"kind must be a non-empty string, got {kind!r}")
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self._items: dict[str, T] = {}

    # -- registration --------------------------------------------------------------------------------
    def _check_new_name(self, name: object) -> str:
        if not isinstance(name, str) or not name or name != name.lower() or name != name.strip():
            raise ValueError(f"{self.kind} name must be a non-empty lower-case string, got {name!r}")
        return name

    def add(self, name: str, item: T) -> T:
        """Register ``item`` under ``name`` (lower-case, unique) and return it."""
        self._check_new_name(name)
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator form of :meth:`add`: ``@registry.register("name")`` (a bad name fails at once)."""
        self._check_new_name(name)

        def decorator(item: F) -> F:
            self.add(name, item)  # type: ignore[arg-type]
            return item

        return decorator

    # -- lookup --------------------------------------------------------------------------------------
    def get(self, name: object) -> T:
        """The item registered as ``name`` (case-insensitive); ``TypeError``/``ValueError`` otherwise."""
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} name must be a str, got {type(name).__name__}")
        try:
            return self._items[name.strip().lower()]
        except KeyError:
            known = ", ".join(self.names()) or "(none)"
            raise ValueError(f"unknown {self.kind} {name!r}; known {self.plural}: {known}") from None

    def create(self, name: object, *args: Any, **kwargs: Any) -> Any:
        """Call the builder registered as ``name`` with the given arguments."""
        builder = self.get(name)
        if not callable(builder):
            raise TypeError(f"{self.kind} {name!r} is not callable")
        return builder(*args, **kwargs)

    def names(self) -> list[str]:
        """Sorted registered names."""
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        """``(name, item)`` pairs, sorted by name."""
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} {self.plural})"
