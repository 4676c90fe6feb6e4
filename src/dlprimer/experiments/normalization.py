"""Normalization experiments (notes: 为什么归一化能提高求解最优解速度, BN层的深入理解)."""

from __future__ import annotations

import numpy as np
import torch

from dlprimer.experiments._common import accuracy, digits, figure, generator, init_linears, mlp, train
from dlprimer.experiments.base import Condition, Criterion, Experiment, Measurement
from dlprimer.experiments.registry import register

TOPIC = "normalization"
SECTION_BN = "BN层的深入理解"


# ------------------------------------------------------------------------------------------ zig-zag (GD path)
def _gd_path(x: np.ndarray, y: np.ndarray, lr: float, steps: int, tol: float) -> tuple[np.ndarray, int]:
    """Full-batch gradient descent on the least-squares loss ½·mean((x w − y)²) from w = 0; returns the path
    and the first step at which the loss is within ``tol`` of its minimum (``steps`` if never)."""
    n = len(y)
    w_star = np.linalg.lstsq(x, y, rcond=None)[0]
    best = 0.5 * np.mean((x @ w_star - y) ** 2)
    w = np.zeros(x.shape[1])
    path = [w.copy()]
    reached = steps
    for t in range(steps):
        w = w - lr * x.T @ (x @ w - y) / n
        path.append(w.copy())
        if reached == steps and 0.5 * np.mean((x @ w - y) ** 2) - best < tol:
            reached = t + 1
    return np.array(path), reached


def _zigzag(seed: int, quick: bool) -> Measurement:
    rng = np.random.default_rng(seed)
    n = 200
    raw = np.stack([rng.normal(0, 1, n), rng.normal(0, 20, n)], 1) + np.array([0.0, 5.0])
    y = raw @ np.array([2.0, 0.3]) + rng.normal(0, 0.1, n)
    y = y - y.mean()
    raw = raw - raw.mean(0)  # centred; only the scales differ (1 vs 20)
    std = raw / raw.std(0)
    steps = 2000 if quick else 20000
    numbers: dict[str, float] = {}
    fig, axes = figure(ncols=2, width=4.5)
    for ax, (label, x) in zip(axes, (("raw", raw), ("standardized", std)), strict=True):
        h = x.T @ x / n
        eig = np.linalg.eigvalsh(h)
        lr = 2.0 / float(eig.max() + eig.min())  # the best constant step size for this quadratic
        path, reached = _gd_path(x, y, lr, steps, tol=1e-6)
        numbers[f"iterations_{label}"] = float(reached)
        numbers[f"condition_number_{label}"] = float(np.linalg.cond(h))
        w_star = np.linalg.lstsq(x, y, rcond=None)[0]
        length = float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())
        numbers[f"path_length_over_distance_{label}"] = length / float(np.linalg.norm(w_star))
        span = np.abs(path).max(0) * 1.2 + 1e-3
        g0, g1 = np.meshgrid(np.linspace(-span[0], span[0], 120) + w_star[0] * 0,
                             np.linspace(-span[1], span[1], 120))
        grid = np.stack([g0.ravel(), g1.ravel()], 1)
        loss = 0.5 * np.mean((x @ grid.T - y[:, None]) ** 2, 0).reshape(g0.shape)
        ax.contour(g0, g1, np.log(loss + 1e-9), levels=25, linewidths=0.6)
        ax.plot(path[:40, 0], path[:40, 1], "r.-", lw=0.8, ms=3)
        ax.set(title=f"{label}: {reached} iterations", xlabel="w₁", ylabel="w₂")
    numbers["iteration_ratio_raw_over_standardized"] = numbers["iterations_raw"] / numbers["iterations_standardized"]
    return Measurement(numbers, {"contours": fig})


register(Experiment(
    name="standardization-zigzag", topic=TOPIC, section="为什么归一化能提高求解最优解速度",
    claim_zh="在使用梯度下降法寻求最优解时, 很有可能走“之字型”路线(垂直等高线走),从而导致需要迭代很多次才能收敛; "
             "而右图对两个原始特征进行了归一化,其对应的等高线显得很圆,在梯度下降进行求解时能较快的收敛",
    claim_en="On raw features of different scales gradient descent zig-zags and needs many iterations; after "
             "standardization the contours are round and it converges fast.",
    setup="Least squares on 2 features with scales 1 and 20 (200 points), full-batch GD from 0 at each "
          "problem's\nbest constant step 2/(λmax+λmin); iterations to within 1e-6 of the optimum (cap: quick 2000, "
          "full 20000).",
    criterion=Criterion((
        Condition("iteration_ratio_raw_over_standardized", ">", 10.0, "raw needs over 10x the iterations"),
        Condition("path_length_over_distance_raw", ">", 2.0, "raw path zig-zags: over twice the straight distance"),
        Condition("path_length_over_distance_standardized", "<", 1.2, "standardized path is nearly straight"),
    )),
    measure=_zigzag,
))


# ------------------------------------------------------------------------------------- BN: small batches
def _bn_small_batch(seed: int, quick: bool) -> Measurement:
    data = digits(seed, n_train=256 if quick else None)
    samples = 800 if quick else 12 * len(data.y_train)  # the same number of images for every batch size
    batches = (2, 32) if quick else (2, 4, 8, 32)
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for norm in ("bn", "gn"):
        accs = []
        for bs in batches:
            torch.manual_seed(seed)
            model = mlp([64, 64, 64, 10], "relu", norm=norm)
            train(model, data.x_train, data.y_train, steps=samples // bs, batch_size=bs, lr=0.02 * bs / 32 ** 0.5
                  / bs ** 0.5, momentum=0.9, gen=generator(seed))
            accs.append(accuracy(model, data.x_val, data.y_val))
            numbers[f"val_accuracy_{norm}_batch_{bs}"] = accs[-1]
        ax.plot(batches, accs, marker="o", label={"bn": "BatchNorm", "gn": "GroupNorm (8 groups)"}[norm])
    lo, hi = batches[0], batches[-1]
    numbers["bn_drop_small_batch"] = numbers[f"val_accuracy_bn_batch_{hi}"] - numbers[f"val_accuracy_bn_batch_{lo}"]
    numbers["gn_drop_small_batch"] = numbers[f"val_accuracy_gn_batch_{hi}"] - numbers[f"val_accuracy_gn_batch_{lo}"]
    numbers["bn_minus_gn_drop"] = numbers["bn_drop_small_batch"] - numbers["gn_drop_small_batch"]
    ax.set_xscale("log", base=2)
    ax.set(xlabel="batch size", ylabel="validation accuracy (eval mode)", title="64-64-64-10 MLP on digits")
    ax.legend()
    return Measurement(numbers, {"accuracy_vs_batch": fig})


register(Experiment(
    name="bn-small-batch", topic=TOPIC, section=SECTION_BN,
    claim_zh="如果Batch Size太小, 则BN效果明显下降",
    claim_en="With a very small batch BatchNorm degrades clearly (GroupNorm does not depend on the batch).",
    setup="64-64-64-10 ReLU MLP with BatchNorm1d vs GroupNorm(8), SGD+momentum, lr ∝ √batch, the same number of "
          "images\nfor every batch size (quick: 256 digits, batches 2/32; full: all, 2/4/8/32); eval-mode accuracy.",
    criterion=Criterion((
        Condition("bn_drop_small_batch", ">", 0.03, "BN loses over 3 points going to batch 2"),
        Condition("bn_minus_gn_drop", ">", 0.02, "and at least 2 points more than GroupNorm"),
    )),
    measure=_bn_small_batch,
))


def _deep_mlp(norm: str | None, depth: int = 8, width: int = 64) -> torch.nn.Sequential:
    return mlp([64] + [width] * depth + [10], "relu", norm=norm)


def _bn_lr(seed: int, quick: bool) -> Measurement:
    steps = 120 if quick else 1200
    lrs = (0.01, 0.1, 1.0) if quick else (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    data = digits(seed)
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for norm in (None, "bn"):
        accs = []
        for lr in lrs:
            torch.manual_seed(seed)
            model = _deep_mlp(norm)
            init_linears(model, "he")
            train(model, data.x_train, data.y_train, steps=steps, batch_size=64, lr=lr, gen=generator(seed))
            accs.append(accuracy(model, data.x_val, data.y_val))
        key = norm or "plain"
        numbers[f"best_accuracy_{key}"] = max(accs)
        numbers[f"best_lr_{key}"] = lrs[int(np.argmax(accs))]
        numbers[f"accuracy_{key}_lr_max"] = accs[-1]
        ax.semilogx(lrs, accs, marker="o", label="BatchNorm" if norm else "plain")
    numbers["best_lr_ratio_bn_over_plain"] = numbers["best_lr_bn"] / numbers["best_lr_plain"]
    numbers["accuracy_gain_bn_at_lr_max"] = numbers["accuracy_bn_lr_max"] - numbers["accuracy_plain_lr_max"]
    ax.set(xlabel="learning rate (SGD)", ylabel="validation accuracy", title="8×64 ReLU MLP, He init")
    ax.legend()
    return Measurement(numbers, {"accuracy_vs_lr": fig})


register(Experiment(
    name="bn-larger-lr", topic=TOPIC, section=SECTION_BN,
    claim_zh="加速训练, 且允许更大的学习率",
    claim_en="BatchNorm speeds training up and allows a larger learning rate.",
    setup="64→8×64→10 ReLU MLP, He init, with and without BatchNorm1d, plain SGD batch 64 on digits, a sweep of "
          "learning rates\n(quick 3 rates × 120 steps, full 7 × 1200); validation accuracy.",
    criterion=Criterion((
        Condition("accuracy_gain_bn_at_lr_max", ">", 0.2, "at the largest rate BN beats plain by 20 points"),
        Condition("best_lr_ratio_bn_over_plain", ">=", 3.0, "BN's best rate is at least 3x larger"),
    )),
    measure=_bn_lr,
))


def _bn_init(seed: int, quick: bool) -> Measurement:
    steps = 120 if quick else 1200
    stds = (0.01, 0.1, 1.0) if quick else (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
    data = digits(seed)
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for norm in (None, "bn"):
        accs = []
        for std in stds:
            torch.manual_seed(seed)
            model = _deep_mlp(norm)
            init_linears(model, "normal", std=std)
            train(model, data.x_train, data.y_train, steps=steps, batch_size=64, lr=0.05, gen=generator(seed))
            accs.append(accuracy(model, data.x_val, data.y_val))
        key = norm or "plain"
        numbers[f"accuracy_spread_{key}"] = max(accs) - min(accs)
        numbers[f"worst_accuracy_{key}"] = min(accs)
        ax.semilogx(stds, accs, marker="o", label="BatchNorm" if norm else "plain")
    numbers["worst_accuracy_gain_bn"] = numbers["worst_accuracy_bn"] - numbers["worst_accuracy_plain"]
    ax.set(xlabel="init std of N(0, std²)", ylabel="validation accuracy", title="8×64 ReLU MLP, SGD lr 0.05")
    ax.legend()
    return Measurement(numbers, {"accuracy_vs_init": fig})


register(Experiment(
    name="bn-init-sensitivity", topic=TOPIC, section=SECTION_BN,
    claim_zh="降低参数初始化敏感度",
    claim_en="BatchNorm makes training much less sensitive to the initialization scale.",
    setup="64→8×64→10 ReLU MLP, weights N(0, std²) for a sweep of std, with and without BatchNorm1d, SGD lr 0.05, "
          "batch 64\n(quick 3 stds × 120 steps, full 6 × 1200); spread of validation accuracy over the sweep.",
    criterion=Criterion((
        Condition("accuracy_spread_bn", "<", 0.1, "with BN the accuracy varies by under 10 points"),
        Condition("worst_accuracy_gain_bn", ">", 0.3, "BN's worst init beats plain's worst by 30 points"),
    )),
    measure=_bn_init,
))


def _bn_distribution(seed: int, quick: bool) -> Measurement:
    from scipy import stats

    from dlprimer.scratch import functional as F

    rng = np.random.default_rng(seed)
    n = 2000 if quick else 20000
    inputs = {
        "exponential": rng.exponential(1.0, (n, 1)),
        "bimodal": np.concatenate([rng.normal(-3, 0.5, (n // 2, 1)), rng.normal(3, 0.5, (n - n // 2, 1))]),
    }
    numbers: dict[str, float] = {}
    fig, axes = figure(ncols=2, width=4.2)
    for ax, (label, x) in zip(axes, inputs.items(), strict=True):
        out = F.batch_norm(x, None, None, training=True).data[:, 0]
        numbers[f"mean_{label}"] = float(out.mean())
        numbers[f"var_{label}"] = float(out.var())
        numbers[f"ks_distance_to_normal_{label}"] = float(stats.kstest(out, "norm").statistic)
        numbers[f"skewness_{label}"] = float(stats.skew(out))
        ax.hist(out, bins=60, density=True, alpha=0.7, label="BN output")
        grid = np.linspace(-4, 4, 200)
        ax.plot(grid, stats.norm.pdf(grid), "k--", label="N(0, 1)")
        ax.set(title=f"{label} input", xlabel="value")
        ax.legend(fontsize=7)
    numbers["max_ks_distance"] = max(numbers["ks_distance_to_normal_exponential"],
                                     numbers["ks_distance_to_normal_bimodal"])
    numbers["max_abs_mean"] = max(abs(numbers["mean_exponential"]), abs(numbers["mean_bimodal"]))
    return Measurement(numbers, {"histograms": fig})


register(Experiment(
    name="bn-not-gaussian", topic=TOPIC, section=SECTION_BN,
    claim_zh="BN就是通过规范化的手段, 把每层神经网络任意神经元这个输入值的分布强行拉回到均值0方差1的标准正态分布",
    claim_en="BatchNorm forces each unit's input back to a standard normal distribution.",
    setup="dlprimer.scratch batch_norm (training mode, no affine) on one channel of exponential and of bimodal "
          "values\n(quick 2,000, full 20,000); mean, variance, skewness and the Kolmogorov–Smirnov distance to "
          "N(0, 1).",
    criterion=Criterion((
        Condition("max_abs_mean", "<", 1e-6, "mean 0 (this part is true)"),
        Condition("max_ks_distance", "<", 0.05, "the output is standard normal"),
    )),
    measure=_bn_distribution,
))
