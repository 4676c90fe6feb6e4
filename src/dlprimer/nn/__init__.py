"""Torch layers, losses and initialization schemes (import the submodules)."""
