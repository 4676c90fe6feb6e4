"""The engine's operations, one file per family (conv, pool, norm, activation, loss, linear, dropout).
Import them through :mod:`dlprimer.scratch.functional`."""
