"""Embedded datasets, built only from data that installed packages ship."""
