"""Initialization experiments (notes: 权重偏差初始化, 参数初始化方法).

The symmetry experiments run on :mod:`dlprimer.scratch` (the point is the mechanism: identical rows get
identical gradients); the variance experiment uses torch for the deep stacks.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from dlprimer.experiments._common import figure, init_linears, mlp, spiral
from dlprimer.experiments.base import Condition, Criterion, Experiment, Measurement
from dlprimer.experiments.registry import register

TOPIC = "initialization"
SECTION_WEIGHTS = "权重偏差初始化"
SECTION_METHODS = "参数初始化方法"


# --------------------------------------------------------------------------------------------- scratch MLP
def _scratch_mlp_run(seed: int, steps: int, hidden_init: str, last_init: str, hidden: int = 16,
                     lr: float = 0.5) -> tuple[list[np.ndarray], list[float]]:
    """Train a 2-16-16-3 tanh MLP on the spiral with the scratch engine; returns the hidden weight matrices
    after training and the loss per step. ``*_init`` ∈ {zeros, const, he}."""
    from dlprimer.scratch import Tensor
    from dlprimer.scratch import functional as F
    from dlprimer.scratch.optim import SGD

    rng = np.random.default_rng(seed)
    x_t, y_t = spiral(seed, n=150)
    x, y = Tensor(x_t.numpy(), requires_grad=False), y_t.numpy()
    sizes = [2, hidden, hidden, 3]

    def make(shape: tuple[int, int], how: str) -> Tensor:
        if how == "zeros":
            w = np.zeros(shape)
        elif how == "const":
            w = np.full(shape, 0.1)
        else:
            w = rng.normal(0.0, np.sqrt(2.0 / shape[1]), shape)
        return Tensor(w, requires_grad=True)

    pairs = enumerate(zip(sizes, sizes[1:], strict=False))
    ws = [make((b, a), hidden_init if i < 2 else last_init) for i, (a, b) in pairs]
    bs = [Tensor(np.zeros(b), requires_grad=True) for b in sizes[1:]]
    opt = SGD(ws + bs, lr=lr)
    losses = []
    for _ in range(steps):
        h = x
        for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
            h = F.linear(h, w, b)
            if i < 2:
                h = F.tanh(h)
        loss = F.cross_entropy(h, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.data))
    return [w.data.copy() for w in ws[:2]], losses


def _unit_spread(weights: list[np.ndarray]) -> float:
    """Largest distance between two hidden units' incoming weight rows (0 = every unit identical)."""
    worst = 0.0
    for w in weights:
        d = np.sqrt(((w[:, None, :] - w[None, :, :]) ** 2).sum(-1))
        worst = max(worst, float(d.max()))
    return worst


def _loss_figure(curves: dict[str, list[float]], title: str) -> object:
    fig, ax = figure()
    for label, c in curves.items():
        ax.plot(c, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title(title)
    ax.legend()
    return fig


def _symmetry(seed: int, quick: bool, init: str) -> Measurement:
    steps = 150 if quick else 3000
    w_init, l_init = _scratch_mlp_run(seed, steps, init, init)
    w_he, l_he = _scratch_mlp_run(seed, steps, "he", "he")
    numbers = {
        f"{init}_unit_spread": _unit_spread(w_init),
        "he_unit_spread": _unit_spread(w_he),
        f"{init}_final_loss": float(np.mean(l_init[-10:])),
        "he_final_loss": float(np.mean(l_he[-10:])),
    }
    numbers[f"loss_ratio_{init}_over_he"] = numbers[f"{init}_final_loss"] / numbers["he_final_loss"]
    fig = _loss_figure({f"{init} init": l_init, "He init": l_he}, f"2-16-16-3 tanh MLP, spiral: {init} vs He")
    return Measurement(numbers, {"loss": fig})


SETUP_SYM = ("2-16-16-3 tanh MLP (dlprimer.scratch), full-batch SGD lr 0.5 on a 3-class spiral (150 points); "
             "quick 150 steps, full 3000.\nSpread = largest distance between two hidden units' weight rows.")

register(Experiment(
    name="zero-init-symmetry", topic=TOPIC, section=SECTION_WEIGHTS,
    claim_zh="因此每次反向传播每个神经元得到的更新都是相同的, 网络无法正常学习",
    claim_en="With all weights zero every neuron gets the same update and the network cannot learn.",
    setup=SETUP_SYM,
    criterion=Criterion((
        Condition("zeros_unit_spread", "<", 1e-9, "zero-initialized hidden units stay identical"),
        Condition("he_unit_spread", ">", 0.1, "He-initialized units differ"),
        Condition("loss_ratio_zeros_over_he", ">", 1.5, "zero init ends with a clearly higher loss"),
    )),
    measure=lambda seed, quick: _symmetry(seed, quick, "zeros"),
))

register(Experiment(
    name="constant-init-symmetry", topic=TOPIC, section=SECTION_WEIGHTS,
    claim_zh="权重设为非0相同值, 本质上也是使第二层网络开始形成了近似的对称性, 从而使网络梯度更新的非常慢",
    claim_en="The same non-zero constant gives only an approximate symmetry, so the network merely learns "
             "very slowly.",
    setup=SETUP_SYM.replace("Spread", "Constant 0.1 everywhere vs He. Spread"),
    criterion=Criterion((
        Condition("const_unit_spread", ">", 1e-6, "the symmetry is only approximate: units drift apart"),
        Condition("loss_ratio_const_over_he", ">", 1.1, "it learns more slowly than He init"),
    )),
    measure=lambda seed, quick: _symmetry(seed, quick, "const"),
))


def _last_layer_zero(seed: int, quick: bool) -> Measurement:
    steps = 150 if quick else 3000
    w_lz, l_lz = _scratch_mlp_run(seed, steps, "he", "zeros")
    w_he, l_he = _scratch_mlp_run(seed, steps, "he", "he")
    numbers = {
        "last_zero_unit_spread": _unit_spread(w_lz),
        "last_zero_final_loss": float(np.mean(l_lz[-10:])),
        "he_final_loss": float(np.mean(l_he[-10:])),
        "initial_loss": l_lz[0],
    }
    numbers["loss_ratio_last_zero_over_he"] = numbers["last_zero_final_loss"] / numbers["he_final_loss"]
    numbers["loss_drop_last_zero"] = 1.0 - numbers["last_zero_final_loss"] / numbers["initial_loss"]
    fig = _loss_figure({"last layer zero": l_lz, "all He": l_he}, "last layer zero-initialized")
    return Measurement(numbers, {"loss": fig})


register(Experiment(
    name="last-layer-zero-init", topic=TOPIC, section=SECTION_WEIGHTS,
    claim_zh="而其他层正常初始化, 依然可以正常更新, 所以整个网络都可以正常更新.",
    claim_en="Zero-initializing only the last layer is fine: the whole network still trains normally.",
    setup=SETUP_SYM.replace("Spread", "Hidden layers He, last layer zeros vs all He. Spread"),
    criterion=Criterion((
        Condition("loss_drop_last_zero", ">", 0.3, "the loss falls by more than 30%"),
        Condition("loss_ratio_last_zero_over_he", "<", 1.5, "ends within 1.5x of the all-He loss"),
    )),
    measure=_last_layer_zero,
))


def _logreg_zero(seed: int, quick: bool) -> Measurement:
    from dlprimer.scratch import Tensor
    from dlprimer.scratch import functional as F
    from dlprimer.scratch.optim import SGD

    rng = np.random.default_rng(seed)
    n = 200
    x = rng.normal(0, 1, (n, 2)) * np.array([1.0, 2.0])
    y = (x @ np.array([1.5, -1.0]) + 0.3 + rng.normal(0, 0.5, n) > 0).astype(np.float64)
    steps = 100 if quick else 2000
    results = {}
    curves = {}
    for how in ("zeros", "random"):
        w = Tensor(np.zeros(2) if how == "zeros" else rng.normal(0, 1, 2), requires_grad=True)
        b = Tensor(np.zeros(1) if how == "zeros" else rng.normal(0, 1, 1), requires_grad=True)
        opt = SGD([w, b], lr=0.5)
        losses, first_grad = [], None
        for _ in range(steps):
            logit = Tensor(x, requires_grad=False) @ w + b
            loss = F.binary_cross_entropy_with_logits(logit, y)
            opt.zero_grad()
            loss.backward()
            if first_grad is None:
                first_grad = np.concatenate([w.grad, b.grad])
            opt.step()
            losses.append(float(loss.data))
        acc = float((((x @ w.data + b.data) > 0) == (y > 0.5)).mean())
        results[how] = (acc, first_grad, w.data.copy())
        curves[how] = losses
    g0 = results["zeros"][1]
    numbers = {
        "zero_init_accuracy": results["zeros"][0],
        "random_init_accuracy": results["random"][0],
        "zero_init_first_grad_min_abs": float(np.abs(g0[:2]).min()),
        "zero_init_first_grad_w_difference": float(abs(abs(g0[0]) - abs(g0[1]))),
    }
    numbers["accuracy_gap_random_minus_zero"] = numbers["random_init_accuracy"] - numbers["zero_init_accuracy"]
    fig = _loss_figure({"zero init": curves["zeros"], "random init": curves["random"]}, "logistic regression")
    return Measurement(numbers, {"loss": fig})


register(Experiment(
    name="logreg-zero-init", topic=TOPIC, section=SECTION_WEIGHTS,
    claim_zh="都初始化为0时 ... 都不为0, 且都不相同, 所以权值可以正常更新",
    claim_en="Logistic regression may start from zero: the gradients differ per weight and it learns normally.",
    setup="Logistic regression (dlprimer.scratch) on 200 noisy 2-D points, SGD lr 0.5, zero vs N(0,1) init;\n"
          "quick 100 steps, full 2000.",
    criterion=Criterion((
        Condition("zero_init_first_grad_min_abs", ">", 1e-6, "every weight gets a non-zero first gradient"),
        Condition("zero_init_first_grad_w_difference", ">", 1e-6, "and the two gradients differ"),
        Condition("accuracy_gap_random_minus_zero", "<", 0.02, "accuracy as good as a random start"),
    )),
    measure=_logreg_zero,
))


# ------------------------------------------------------------------------------------- variance across depth
def _variance(seed: int, quick: bool) -> Measurement:
    depth, width, batch = (10, 128, 256) if quick else (20, 512, 1024)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, width, generator=gen, dtype=torch.float64)
    numbers: dict[str, float] = {}
    fig, axes = figure(ncols=2, width=5.0)
    for (init, act), style in zip(itertools.product(("normal", "xavier", "he"), ("tanh", "relu")),
                                  itertools.cycle(["-", "--"]), strict=False):
        torch.manual_seed(seed)
        model = mlp([width] * (depth + 1), act)
        init_linears(model, init, std=0.01)
        acts: list[torch.Tensor] = []
        hooks = [m.register_forward_hook(lambda _m, _i, o, acts=acts: acts.append(o)) for m in model
                 if not isinstance(m, torch.nn.Linear)]
        xin = x.clone().requires_grad_(True)
        out = model(xin)
        for a in acts:
            a.retain_grad()
        out.pow(2).sum().backward()
        for h in hooks:
            h.remove()
        stds = [float(a.detach().std()) for a in acts]
        grads = [float(lin.weight.grad.std()) for lin in model if isinstance(lin, torch.nn.Linear)]
        numbers[f"std_ratio_{init}_{act}"] = stds[-1] / stds[0]
        numbers[f"last_std_{init}_{act}"] = stds[-1]
        g_ratio = grads[0] / grads[-1] if grads[-1] > 0 else float("inf")
        numbers[f"grad_ratio_first_over_last_{init}_{act}"] = g_ratio
        axes[0].semilogy(range(1, len(stds) + 1), stds, style, label=f"{init}/{act}")
        axes[1].semilogy(range(1, len(grads) + 1), np.maximum(grads, 1e-300), style, label=f"{init}/{act}")
    axes[0].set(xlabel="layer", ylabel="activation std", title=f"forward, width {width}")
    axes[1].set(xlabel="layer", ylabel="weight-gradient std", title="backward")
    axes[0].legend(fontsize=7)
    return Measurement(numbers, {"std_per_layer": fig})


register(Experiment(
    name="variance-preservation", topic=TOPIC, section=SECTION_METHODS,
    claim_zh="如果每层都用N(0, 0.01)随机初始化的话, 各层的数据分布不一致, "
             "随着层度的增加, 神经元将集中在很大的值或很小的值, "
             "不利于传递信息.",
    claim_en="N(0, 0.01) makes the activations shrink layer after layer; Xavier keeps tanh nets and He keeps "
             "ReLU nets at a constant scale (方差一致).",
    setup="Deep MLP (quick 10 layers × 128, full 20 × 512), random input batch; activation std per layer and "
          "weight-gradient std\nper layer for N(0,0.01) / Xavier-normal / He-normal × tanh / ReLU.",
    criterion=Criterion((
        Condition("std_ratio_normal_tanh", "<", 1e-3, "N(0,0.01): tanh activations collapse"),
        Condition("std_ratio_normal_relu", "<", 1e-3, "N(0,0.01): ReLU activations collapse"),
        Condition("std_ratio_xavier_tanh", ">", 0.2, "Xavier keeps tanh within 5x"),
        Condition("std_ratio_he_relu", ">", 0.5, "He keeps ReLU within 2x (lower)"),
        Condition("std_ratio_he_relu", "<", 2.0, "He keeps ReLU within 2x (upper)"),
    )),
    measure=_variance,
))


def _he_vs_xavier(seed: int, quick: bool) -> Measurement:
    from dlprimer.scratch import Tensor
    from dlprimer.scratch import init as sinit

    n = 256 if quick else 1024
    rng = np.random.default_rng(seed)
    xav = sinit.xavier_normal_(Tensor(np.empty((n, n)), requires_grad=False), generator=rng).data
    he = sinit.kaiming_normal_(Tensor(np.empty((n, n)), requires_grad=False), nonlinearity="relu",
                               generator=rng).data
    notes_snippet = rng.standard_normal((n, n)) / np.sqrt(n / 2)  # the notes' own line of code
    numbers = {
        "var_ratio_he_over_xavier": float(he.var() / xav.var()),
        "var_ratio_notes_snippet_over_xavier": float(notes_snippet.var() / xav.var()),
        "he_var_x_fan_in": float(he.var() * n),
        "he_std_x_sqrt_fan_in": float(he.std() * np.sqrt(n)),
    }
    fig, ax = figure()
    bins = np.linspace(-4 / np.sqrt(n) * 2, 4 / np.sqrt(n) * 2, 80)
    ax.hist(xav.ravel(), bins=bins, alpha=0.6, label="Xavier normal")
    ax.hist(he.ravel(), bins=bins, alpha=0.6, label="He normal")
    ax.set(title=f"{n}×{n} weights: He variance = 2 × Xavier", xlabel="weight")
    ax.legend()
    return Measurement(numbers, {"histograms": fig})


register(Experiment(
    name="he-is-xavier-times-two", topic=TOPIC, section=SECTION_METHODS,
    claim_zh="要保持方差不变, 只需要在Xavier的基础上再除以2",
    claim_en="He initialization is Xavier's variance divided by 2.",
    setup="Square n×n layers (quick n=256, full 1024) drawn with dlprimer.scratch.init xavier_normal_ and "
          "kaiming_normal_;\nalso the notes' own line randn(n_in, n_out) / sqrt(n_in/2).",
    criterion=Criterion((
        Condition("var_ratio_he_over_xavier", "<", 0.75, "He's variance is about half of Xavier's"),
    )),
    measure=_he_vs_xavier,
))
