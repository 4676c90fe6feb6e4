"""Activation-function experiments (notes: 激活函数详解, 相对于sigmoid激活函数..., 如何解决ReLu神经元死亡的问题)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dlprimer.experiments._common import accuracy, digits, figure, generator, init_linears, linears, mlp, smooth, train
from dlprimer.experiments.base import Condition, Criterion, Experiment, Measurement
from dlprimer.experiments.registry import register

TOPIC = "activations"


def _vanishing(seed: int, quick: bool) -> Measurement:
    depth, width = (10, 64) if quick else (20, 256)
    data = digits(seed, n_train=256)
    x, y = data.x_train, data.y_train
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for act in ("sigmoid", "tanh", "relu"):
        torch.manual_seed(seed)
        model = mlp([64] + [width] * depth + [10], act)
        init_linears(model, "he" if act == "relu" else "xavier")
        nn.functional.cross_entropy(model(x), y).backward()
        norms = [float(lin.weight.grad.norm()) for lin in linears(model)]
        numbers[f"grad_ratio_first_over_last_{act}"] = norms[0] / norms[-1]
        ax.semilogy(range(1, len(norms) + 1), norms, marker=".", label=act)
    numbers["grad_ratio_sigmoid_over_tanh"] = (numbers["grad_ratio_first_over_last_sigmoid"]
                                              / numbers["grad_ratio_first_over_last_tanh"])
    ax.set(xlabel="layer (1 = input side)", ylabel="‖∂L/∂W‖", title=f"{depth}-hidden-layer MLP at init, digits")
    ax.legend()
    return Measurement(numbers, {"grad_norm_per_layer": fig})


register(Experiment(
    name="sigmoid-vanishing-gradient", topic=TOPIC, section="激活函数详解",
    claim_zh="软饱和性:当sigmoid函数的输入很大或很小时, 梯度会消失",
    claim_en="Sigmoid saturates, so gradients vanish through depth (tanh less so, ReLU not).",
    setup="MLP 64→width×depth→10 (quick 10×64, full 20×256), Xavier init (He for ReLU), 256 digits; "
          "per-layer weight-gradient\nnorm of the cross-entropy at initialization; ratio first layer / last layer.",
    criterion=Criterion((
        Condition("grad_ratio_first_over_last_sigmoid", "<", 1e-3, "sigmoid: first-layer gradient < 1/1000"),
        Condition("grad_ratio_sigmoid_over_tanh", "<", 0.01, "at least 100x worse than tanh"),
        Condition("grad_ratio_first_over_last_relu", ">", 0.1, "ReLU keeps the gradient within 10x"),
    )),
    measure=_vanishing,
))


def _tanh_vs_sigmoid(seed: int, quick: bool) -> Measurement:
    steps = 150 if quick else 1500
    data = digits(seed)
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for act in ("sigmoid", "tanh"):
        torch.manual_seed(seed)
        model = mlp([64, 64, 64, 10], act)
        init_linears(model, "xavier")
        losses = train(model, data.x_train, data.y_train, steps=steps, batch_size=32, lr=0.05,
                       gen=generator(seed))
        numbers[f"final_loss_{act}"] = float(np.mean(losses[-20:]))
        numbers[f"val_accuracy_{act}"] = accuracy(model, data.x_val, data.y_val)
        ax.plot(smooth(losses), label=act)
    numbers["loss_ratio_tanh_over_sigmoid"] = numbers["final_loss_tanh"] / numbers["final_loss_sigmoid"]
    ax.set(xlabel="step", ylabel="training loss (moving avg)", title="64-64-64-10 MLP, SGD lr 0.05")
    ax.legend()
    return Measurement(numbers, {"loss": fig})


register(Experiment(
    name="tanh-vs-sigmoid", topic=TOPIC, section="相对于sigmoid激活函数, tanh激活函数输出关于零点对称的好处",
    claim_zh="sigmoid函数其输出始终为正, 导致在深度网络训练中模型的收敛速度变慢",
    claim_en="Sigmoid's always-positive output slows convergence; zero-centred tanh converges faster.",
    setup="64-64-64-10 MLP, Xavier init, SGD lr 0.05, batch 32 on the 8×8 digits (quick 150 steps, full 1500);\n"
          "training loss over the last 20 steps.",
    criterion=Criterion((
        Condition("loss_ratio_tanh_over_sigmoid", "<", 0.8, "tanh ends with a loss at least 20% lower"),
    )),
    measure=_tanh_vs_sigmoid,
))


def _dead_fraction(model: nn.Sequential, x: torch.Tensor) -> float:
    """Fraction of first-hidden-layer units whose pre-activation is ≤ 0 for every input (dead for ReLU)."""
    with torch.no_grad():
        pre = model[0](x)
    return float((pre <= 0).all(0).double().mean())


def _dead_relu(seed: int, quick: bool) -> Measurement:
    steps = 100 if quick else 1000
    lrs = (0.01, 0.1, 1.0) if quick else (0.01, 0.03, 0.1, 0.3, 1.0)
    data = digits(seed)
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for act in ("relu", "leaky_relu"):
        fracs, accs = [], []
        for lr in lrs:
            torch.manual_seed(seed)
            model = mlp([64, 128, 10], act)
            init_linears(model, "he")
            with torch.no_grad():
                model[0].bias.fill_(0.1)
            train(model, data.x_train, data.y_train, steps=steps, batch_size=64, lr=lr, gen=generator(seed),
                  momentum=0.9)
            fracs.append(_dead_fraction(model, data.x_train))
            accs.append(accuracy(model, data.x_val, data.y_val))
        numbers[f"dead_fraction_{act}_lr_low"] = fracs[0]
        numbers[f"dead_fraction_{act}_lr_high"] = fracs[-1]
        numbers[f"val_accuracy_{act}_lr_low"] = accs[0]
        numbers[f"val_accuracy_{act}_lr_high"] = accs[-1]
        ax.semilogx(lrs, fracs, marker="o", label=f"{act}: never-active units")
    numbers["accuracy_gain_leaky_over_relu_lr_high"] = (numbers["val_accuracy_leaky_relu_lr_high"]
                                                        - numbers["val_accuracy_relu_lr_high"])
    ax.set(xlabel="learning rate (SGD, momentum 0.9)", ylabel="fraction of hidden units",
           title="units negative on every training input")
    ax.legend()
    return Measurement(numbers, {"dead_units": fig})


register(Experiment(
    name="dead-relu", topic=TOPIC, section="如何解决ReLu神经元死亡的问题",
    claim_zh="当学习率比较大, 而且梯度也很大时, 会导致权重更新太多, 有可能出现对于所有的训练样本, 该神经元输出都<0, "
             "那么该神经元的权值就不会再更新了",
    claim_en="A large learning rate kills ReLU units (negative on every input, never updated again); a lower "
             "rate or Leaky ReLU avoids it.",
    setup="64-128-10 MLP, He init, SGD+momentum 0.9, batch 64 on digits, lr from 0.01 to 1 (quick 100 steps, full "
          "1000);\ndead = first-layer unit with pre-activation ≤ 0 on all 1257 training images.",
    criterion=Criterion((
        Condition("dead_fraction_relu_lr_high", ">", 0.2, "high lr: over 20% of ReLU units die"),
        Condition("dead_fraction_relu_lr_low", "<", 0.05, "low lr: under 5% die"),
        Condition("accuracy_gain_leaky_over_relu_lr_high", ">", 0.0, "Leaky ReLU does better at the high lr"),
    )),
    measure=_dead_relu,
))


def _relu_overfitting(seed: int, quick: bool) -> Measurement:
    steps = 200 if quick else 3000
    data = digits(seed, n_train=200)
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for act in ("relu", "tanh"):
        torch.manual_seed(seed)
        model = mlp([64, 256, 256, 10], act)
        train(model, data.x_train, data.y_train, steps=steps, batch_size=32, lr=0.05, momentum=0.9,
              gen=generator(seed))
        tr, va = accuracy(model, data.x_train, data.y_train), accuracy(model, data.x_val, data.y_val)
        numbers[f"train_accuracy_{act}"] = tr
        numbers[f"val_accuracy_{act}"] = va
        numbers[f"gap_{act}"] = tr - va
    ax.bar(["ReLU train", "ReLU val", "tanh train", "tanh val"],
           [numbers["train_accuracy_relu"], numbers["val_accuracy_relu"], numbers["train_accuracy_tanh"],
            numbers["val_accuracy_tanh"]], color=["C0", "C0", "C1", "C1"])
    ax.set(ylim=(0, 1.05), ylabel="accuracy", title="64-256-256-10 MLP on 200 digits")
    return Measurement(numbers, {"gap": fig})


register(Experiment(
    name="relu-overfitting", topic=TOPIC, section="激活函数详解",
    claim_zh="ReLu单侧抑制, 使一部分神经元输出为0, 使网络具有稀疏性, 且减少了参数的相互依存, 解决了过拟合的问题",
    claim_en="ReLU's sparsity solves overfitting.",
    setup="64-256-256-10 MLP (ReLU vs tanh, same capacity), 200 training digits, SGD+momentum (quick 200 steps, "
          "full 3000);\ngeneralization gap = train accuracy − validation accuracy.",
    criterion=Criterion((
        Condition("gap_relu", "<", 0.02, "ReLU leaves no train/validation gap (overfitting solved)"),
    )),
    measure=_relu_overfitting,
))


def _monotone_convexity(seed: int, quick: bool) -> Measurement:
    """Single-layer networks with a monotone activation, y = f(w·x): is the loss convex in w?"""
    rng = np.random.default_rng(seed)
    n = 50 if quick else 500
    x = rng.normal(0, 1, n)
    y = (x > 0).astype(float)
    w = np.linspace(-6, 6, 601)
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for label, f in (("sigmoid_mse", lambda z: 1 / (1 + np.exp(-z))), ("tanh_mse", lambda z: (np.tanh(z) + 1) / 2)):
        loss = ((f(w[:, None] * x[None, :]) - y[None, :]) ** 2).mean(1)
        second = np.gradient(np.gradient(loss, w), w)
        numbers[f"min_second_derivative_{label}"] = float(second[5:-5].min())
        ax.plot(w, loss, label=label.replace("_", " + "))
    ax.set(xlabel="w", ylabel="mean squared error", title="loss of y = f(w·x) along w")
    ax.legend()
    return Measurement(numbers, {"loss_along_w": fig})


register(Experiment(
    name="monotone-activation-convexity", topic=TOPIC, section="激活函数的性质",
    claim_zh="单调性: 当激活函数单调时, 单层网络能保证是凸函数",
    claim_en="With a monotone activation a single-layer network's loss is convex.",
    setup="y = f(w·x) with monotone f (sigmoid, rescaled tanh), squared error on 1-D data (quick 50, full 500 "
          "points);\nsecond derivative of the loss along w ∈ [−6, 6] (convex ⇔ never negative).",
    criterion=Criterion((
        Condition("min_second_derivative_sigmoid_mse", ">=", -1e-9, "the sigmoid network's loss is convex"),
        Condition("min_second_derivative_tanh_mse", ">=", -1e-9, "the tanh network's loss is convex"),
    )),
    measure=_monotone_convexity,
))
