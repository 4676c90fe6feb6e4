"""Regularization experiments (notes: 过拟合与欠拟合, Label-smooth详解, model.train和model.eval区别)."""

from __future__ import annotations

import copy
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from dlprimer.experiments._common import accuracy, digits, figure, generator, mlp, train
from dlprimer.experiments.base import Condition, Criterion, Experiment, Measurement
from dlprimer.experiments.registry import register

TOPIC = "regularization"
SECTION_FIT = "过拟合与欠拟合的变表现与解决办法"


@lru_cache(maxsize=4)
def _curves(seed: int, quick: bool) -> dict[str, list[float]]:
    """Train and validation error against the training-set size for a tiny (2 hidden units) and a large
    (256-256) MLP."""
    sizes = (50, 200, 1257) if quick else (50, 100, 200, 400, 800, 1257)
    steps = 100 if quick else 1500
    out: dict[str, list[float]] = {"sizes": list(map(float, sizes))}
    for label, hidden in (("tiny", [2]), ("large", [256, 256])):
        tr_err, va_err = [], []
        for n in sizes:
            data = digits(seed, n_train=n)
            torch.manual_seed(seed)
            model = mlp([64, *hidden, 10], "relu")
            train(model, data.x_train, data.y_train, steps=steps, batch_size=min(32, n), lr=0.05, momentum=0.9,
                  gen=generator(seed))
            tr_err.append(1 - accuracy(model, data.x_train, data.y_train))
            va_err.append(1 - accuracy(model, data.x_val, data.y_val))
        out[f"train_error_{label}"] = tr_err
        out[f"val_error_{label}"] = va_err
    return out


def _curve_figure(c: dict[str, list[float]]) -> object:
    fig, ax = figure()
    for label, colour in (("tiny", "C0"), ("large", "C1")):
        ax.semilogx(c["sizes"], c[f"train_error_{label}"], "--", color=colour, marker=".", label=f"{label} train")
        ax.semilogx(c["sizes"], c[f"val_error_{label}"], "-", color=colour, marker="o", label=f"{label} val")
    ax.set(xlabel="training images", ylabel="error", title="learning curves: 64-2-10 vs 64-256-256-10 MLP")
    ax.legend(fontsize=7)
    return fig


def _learning_curves(seed: int, quick: bool) -> Measurement:
    c = _curves(seed, quick)
    numbers = {
        "gap_large_smallest_n": c["val_error_large"][0] - c["train_error_large"][0],
        "train_error_large_smallest_n": c["train_error_large"][0],
        "train_error_tiny_largest_n": c["train_error_tiny"][-1],
        "gap_tiny_largest_n": c["val_error_tiny"][-1] - c["train_error_tiny"][-1],
        "gap_large_largest_n": c["val_error_large"][-1] - c["train_error_large"][-1],
    }
    return Measurement(numbers, {"learning_curves": _curve_figure(c)})


SETUP_CURVES = ("64-2-10 (too simple) and 64-256-256-10 (large) ReLU MLPs, SGD+momentum, trained on growing "
                "subsets of the digits\n(quick 50/200/1257 images × 100 steps, full 6 sizes × 1500 steps); train "
                "and validation error.")

register(Experiment(
    name="learning-curves", topic=TOPIC, section=SECTION_FIT,
    claim_zh="过拟合: 模型在训练集上表现好, 但在测试集(验证集)上表现差; 欠拟合: 模型在训练集和测试集上的表现都很差",
    claim_en="Over-fitting: good on training, bad on validation; under-fitting: bad on both with a small gap.",
    setup=SETUP_CURVES,
    criterion=Criterion((
        Condition("gap_large_smallest_n", ">", 0.1, "large model on 50 images: validation error 10 points higher"),
        Condition("train_error_tiny_largest_n", ">", 0.15, "tiny model: high training error"),
        Condition("gap_tiny_largest_n", "<", 0.05, "tiny model: small gap"),
    )),
    measure=_learning_curves,
))


def _high_variance(seed: int, quick: bool) -> Measurement:
    c = _curves(seed, quick)
    low = [i for i, e in enumerate(c["train_error_large"]) if e < 0.02]
    gaps = [c["val_error_large"][i] - c["train_error_large"][i] for i in low]
    numbers = {
        "runs_with_low_train_error": float(len(low)),
        "min_gap_among_low_train_error": min(gaps) if gaps else float("nan"),
        "max_gap_among_low_train_error": max(gaps) if gaps else float("nan"),
    }
    return Measurement(numbers, {"learning_curves": _curve_figure(c)})


register(Experiment(
    name="high-variance-definition", topic=TOPIC, section=SECTION_FIT,
    claim_zh="损失函数呈现高方差,低偏差的状态(高方差指训练集误差较低)",
    claim_en="High variance means a low training error.",
    setup=SETUP_CURVES.replace("; train and validation error.", "; runs with training error < 2% and their "
                                                                 "train/validation gap (= variance)."),
    criterion=Criterion((
        Condition("min_gap_among_low_train_error", ">", 0.05,
                  "every run with training error < 2% has a gap above 5 points (low training error ⇒ high variance)"),
    )),
    measure=_high_variance,
))


def _shift_8x8(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    from dlprimer.augment import random_shift

    return random_shift(x.reshape(-1, 1, 8, 8), 1, gen, fill=float(x.min())).reshape(len(x), 64)


def _regularizers(seed: int, quick: bool) -> Measurement:
    data = digits(seed, n_train=150)
    steps = 120 if quick else 2000
    check_every = 20 if quick else 100

    def run(name: str) -> float:
        torch.manual_seed(seed)
        hidden: list[nn.Module] = [nn.Linear(64, 256), nn.ReLU()]
        if name == "dropout":
            hidden.append(nn.Dropout(0.5))
        hidden += [nn.Linear(256, 256), nn.ReLU()]
        if name == "dropout":
            hidden.append(nn.Dropout(0.5))
        model = nn.Sequential(*hidden, nn.Linear(256, 10)).double()
        # early stopping picks the checkpoint with the best accuracy on a held-out part of the training data
        x, y = data.x_train, data.y_train
        if name == "early_stopping":
            x, y, x_hold, y_hold = x[:120], y[:120], x[120:], y[120:]
        best: tuple[float, dict] = (-1.0, {})

        def keep_best(step: int) -> None:
            nonlocal best
            if name == "early_stopping" and (step + 1) % check_every == 0:
                acc = accuracy(model, x_hold, y_hold)
                model.train()
                if acc > best[0]:
                    best = (acc, copy.deepcopy(model.state_dict()))

        train(model, x, y, steps=steps, batch_size=32, lr=0.05, momentum=0.9,
              weight_decay=5e-3 if name == "weight_decay" else 0.0,
              augment=_shift_8x8 if name == "augmentation" else None, gen=generator(seed), callback=keep_best)
        if name == "early_stopping" and best[1]:
            model.load_state_dict(best[1])
        return accuracy(model, data.x_val, data.y_val)

    names = ("baseline", "dropout", "weight_decay", "augmentation", "early_stopping")
    accs = {n: run(n) for n in names}
    numbers = {f"val_accuracy_{n}": a for n, a in accs.items()}
    for n in names[1:]:
        numbers[f"gain_{n}"] = accs[n] - accs["baseline"]
    fig, ax = figure()
    ax.bar(range(len(names)), [accs[n] for n in names], color=["grey"] + ["C0"] * 4)
    ax.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=8)
    ax.set(ylim=(min(accs.values()) - 0.05, 1.0), ylabel="validation accuracy", title="150 training digits")
    return Measurement(numbers, {"regularizers": fig})


register(Experiment(
    name="regularizers", topic=TOPIC, section=SECTION_FIT,
    claim_zh="正则化(L2正则化, 添加BN层, Dropout技术); Early Stop技术; 获取更多的训练数据(数据扩充)",
    claim_en="Against over-fitting: L2 weight decay, dropout, data augmentation and early stopping each help.",
    setup="64-256-256-10 ReLU MLP on 150 digits, SGD+momentum (quick 120 steps, full 2000): baseline vs dropout 0.5, "
          "weight decay 5e-3,\n±1-pixel random shifts, early stopping on 30 held-out training images; validation "
          "accuracy.",
    criterion=Criterion((
        Condition("gain_dropout", ">", 0.0, "dropout helps"),
        Condition("gain_weight_decay", ">", 0.0, "weight decay helps"),
        Condition("gain_augmentation", ">", 0.0, "augmentation helps"),
        Condition("gain_early_stopping", ">", 0.0, "early stopping helps"),
    )),
    measure=_regularizers,
))


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> tuple[float, np.ndarray, np.ndarray]:
    """Expected calibration error (Guo et al., 2017): Σ_b |B_b|/N · |acc(B_b) − conf(B_b)| over ``bins``
    equal-width confidence bins; also the per-bin accuracy and confidence (NaN for empty bins)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    acc, conf = np.full(bins, np.nan), np.full(bins, np.nan)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            acc[b], conf[b] = correct[m].mean(), confidence[m].mean()
            total += m.mean() * abs(acc[b] - conf[b])
    return float(total), acc, conf


def _label_smoothing(seed: int, quick: bool) -> Measurement:
    data = digits(seed)
    steps = 300 if quick else 4000
    numbers: dict[str, float] = {}
    fig, axes = figure(ncols=2, width=4.2)
    axes[0].plot([0, 1], [0, 1], "k:", lw=0.8)
    for label, eps in (("none", 0.0), ("smoothed", 0.1)):
        torch.manual_seed(seed)
        model = mlp([64, 256, 256, 10], "relu")

        def loss_fn(out: torch.Tensor, y: torch.Tensor, eps: float = eps) -> torch.Tensor:
            return nn.functional.cross_entropy(out, y, label_smoothing=eps)

        train(model, data.x_train, data.y_train, steps=steps, batch_size=32, lr=0.05, momentum=0.9, loss_fn=loss_fn,
              gen=generator(seed))
        with torch.no_grad():
            logits = model(data.x_val)
        prob = logits.softmax(1).numpy()
        conf = prob.max(1)
        correct = (prob.argmax(1) == data.y_val.numpy()).astype(float)
        e, acc_b, conf_b = ece(conf, correct)
        top2 = torch.topk(logits, 2, dim=1).values
        numbers[f"ece_{label}"] = e
        numbers[f"mean_confidence_{label}"] = float(conf.mean())
        numbers[f"val_accuracy_{label}"] = float(correct.mean())
        numbers[f"logit_gap_{label}"] = float((top2[:, 0] - logits.mean(1)).mean())
        axes[0].plot(conf_b, acc_b, marker="o", label=f"ε = {eps} (ECE {e:.3f})")
        axes[1].hist(conf, bins=20, range=(0, 1), alpha=0.6, label=f"ε = {eps}")
    numbers["logit_gap_ratio_smoothed_over_none"] = numbers["logit_gap_smoothed"] / numbers["logit_gap_none"]
    numbers["confidence_minus_accuracy_none"] = numbers["mean_confidence_none"] - numbers["val_accuracy_none"]
    numbers["ece_ratio_smoothed_over_none"] = numbers["ece_smoothed"] / max(numbers["ece_none"], 1e-12)
    axes[0].set(xlabel="confidence", ylabel="accuracy", title="reliability diagram (validation)")
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="max softmax probability", title="confidence histogram")
    axes[1].legend(fontsize=7)
    return Measurement(numbers, {"calibration": fig})


register(Experiment(
    name="label-smoothing-calibration", topic=TOPIC, section="Label-smooth详解",
    claim_zh="防止产生较大的损失(不希望模型对预测结果过度自信); 最终通过抑制正负样本输出差值, 使得网络有更好的泛化能力",
    claim_en="Label smoothing stops the model from being over-confident by shrinking the gap between the true "
             "class's logit and the others.",
    setup="64-256-256-10 ReLU MLP on the digits, cross-entropy with ε = 0 vs 0.1 (quick 300 steps, full 4000); "
          "validation ECE (10 bins),\nmean confidence and the logit gap (top logit − mean logit).",
    criterion=Criterion((
        Condition("logit_gap_ratio_smoothed_over_none", "<", 0.7, "smoothing shrinks the logit gap by 30%"),
        Condition("ece_ratio_smoothed_over_none", "<", 1.0, "and lowers the calibration error"),
    )),
    measure=_label_smoothing,
))


def _dropout_scaling(seed: int, quick: bool) -> Measurement:
    from dlprimer.scratch import functional as F

    rng = np.random.default_rng(seed)
    n = 20000 if quick else 200000
    p = 0.3
    x = rng.uniform(0.5, 1.5, n)
    train_out = F.dropout(x, p=p, training=True, generator=rng).data  # inverted: kept units scaled by 1/(1−p)
    eval_out = F.dropout(x, p=p, training=False).data  # identity
    notes_eval = eval_out * p  # "最终输出要乘以失活比例"
    keep_eval = eval_out * (1 - p)  # the classic (non-inverted) rule, also wrong here
    numbers = {
        "drop_probability": p,
        "train_mean_over_eval_mean": float(train_out.mean() / eval_out.mean()),
        "train_mean_over_notes_rule_mean": float(train_out.mean() / notes_eval.mean()),
        "train_mean_over_keep_scaled_mean": float(train_out.mean() / keep_eval.mean()),
    }
    numbers["notes_rule_scale_error"] = abs(numbers["train_mean_over_notes_rule_mean"] - 1.0)
    fig, ax = figure()
    ax.bar(["train (inverted)", "eval (torch)", "eval × p (notes)", "eval × (1−p)"],
           [train_out.mean(), eval_out.mean(), notes_eval.mean(), keep_eval.mean()])
    ax.set(ylabel="mean output", title=f"inverted dropout, p = {p}")
    return Measurement(numbers, {"means": fig})


register(Experiment(
    name="dropout-inference-scaling", topic=TOPIC, section="model.trainmodel.eval区别",
    claim_zh="使Dropout不起作用:训练时随机失活, 推理时全部开启, 同时最终输出要乘以失活比例, 否则会导致最后的结果翻倍",
    claim_en="At inference dropout is off and the output must be multiplied by the drop ratio.",
    setup="dlprimer.scratch dropout (inverted, as torch) with p = 0.3 on uniform inputs (quick 20k, full 200k); the "
          "mean training output\nagainst eval outputs with no scaling (torch), × p (notes) and × (1 − p).",
    criterion=Criterion((
        Condition("notes_rule_scale_error", "<", 0.05, "with the notes' rule the eval mean matches the training mean"),
    )),
    measure=_dropout_scaling,
))
