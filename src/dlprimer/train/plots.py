"""Figures of a run: training curves (loss, accuracy or detection mAP, lr per epoch) and the test confusion matrix."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: Sequence[dict], path: str | os.PathLike[str]) -> None:
    """Loss, accuracy (train and val) and learning rate against the epoch, side by side."""
    from dlprimer._io import atomic_savefig

    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for key, label in (("train_loss", "train"), ("val_loss", "val")):
        axes[0].plot(epochs, [row[key] for row in history], marker="o", ms=3, label=label)
    axes[0].set_title("loss (cross-entropy)")
    for key, label in (("train_accuracy", "train"), ("val_accuracy", "val")):
        axes[1].plot(epochs, [row[key] for row in history], marker="o", ms=3, label=label)
    axes[1].set_title("accuracy")
    axes[2].plot(epochs, [row["lr"] for row in history], marker="o", ms=3, color="tab:green")
    axes[2].set_title("learning rate (last batch of the epoch)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].legend()
    axes[1].legend()
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)
    plt.close(fig)


def plot_confusion(matrix: np.ndarray, path: str | os.PathLike[str], title: str = "test confusion matrix") -> None:
    """Heat map of ``matrix[true, predicted]`` with the counts written in the cells."""
    from dlprimer._io import atomic_savefig

    plt = _pyplot()
    k = matrix.shape[0]
    fig, ax = plt.subplots(figsize=(0.5 * k + 2.5, 0.5 * k + 2))
    ax.imshow(matrix, cmap="Blues")
    for i in range(k):
        for j in range(k):
            color = "white" if matrix[i, j] > matrix.max() / 2 else "black"
            ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)
    plt.close(fig)


def plot_detection_curves(history: Sequence[dict], path: str | os.PathLike[str]) -> None:
    """Training loss, validation AP / AP50 (the evaluated epochs) and learning rate against the epoch."""
    from dlprimer._io import atomic_savefig

    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    epochs = [r["epoch"] for r in history]
    axes[0].plot(epochs, [r["train_loss"] for r in history], marker="o", ms=3)
    axes[0].set_title("training loss")
    for key in ("val_AP", "val_AP50"):
        rows = [r for r in history if key in r]
        axes[1].plot([r["epoch"] for r in rows], [r[key] for r in rows], marker="o", ms=3, label=key[4:])
    axes[1].set_title("validation mAP (EMA weights)")
    axes[1].legend()
    axes[2].plot(epochs, [r["lr"] for r in history], marker="o", ms=3, color="tab:green")
    axes[2].set_title("learning rate (last batch of the epoch)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)
    plt.close(fig)
