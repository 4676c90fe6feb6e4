"""Loss-function experiments (notes: smooth L1 loss介绍, Focal Loss损失函数介绍, Cross Entropy交叉熵损失函数介绍,
softmax定义及作用, Label-smooth详解)."""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

from dlprimer.experiments._common import figure
from dlprimer.experiments.base import Condition, Criterion, Experiment, Measurement
from dlprimer.experiments.registry import register

TOPIC = "losses"


def _robust(seed: int, quick: bool) -> Measurement:
    from dlprimer.nn.losses import smooth_l1_loss

    rng = np.random.default_rng(seed)
    n = 200
    x = rng.uniform(-1, 1, n)
    y = 2.0 * x + 1.0 + rng.normal(0, 0.1, n)
    out = rng.choice(n, n // 10, replace=False)
    y[out] += rng.uniform(8, 12, len(out))  # 10% gross outliers, all on one side
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    steps = 200 if quick else 5000
    losses = {
        "mse": lambda p, t: nn.functional.mse_loss(p, t),
        "mae": lambda p, t: nn.functional.l1_loss(p, t),
        "smooth_l1": lambda p, t: smooth_l1_loss(p, t, beta=1.0),
    }
    numbers: dict[str, float] = {}
    fig, ax = figure()
    ax.scatter(x, y, s=5, c="grey")
    grid = np.linspace(-1, 1, 2)
    for label, fn in losses.items():
        w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([w], lr=0.05)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        for _ in range(steps):
            loss = fn(w[0] * xt + w[1], yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        slope, icpt = (float(v) for v in w.detach())
        numbers[f"parameter_error_{label}"] = float(np.hypot(slope - 2.0, icpt - 1.0))
        ax.plot(grid, slope * grid + icpt, label=f"{label}: y = {slope:.2f}x + {icpt:.2f}")
    numbers["error_ratio_smooth_l1_over_mse"] = numbers["parameter_error_smooth_l1"] / numbers["parameter_error_mse"]
    numbers["error_ratio_mae_over_mse"] = numbers["parameter_error_mae"] / numbers["parameter_error_mse"]
    ax.set(title="y = 2x + 1 with 10% outliers", xlabel="x", ylabel="y", ylim=(-3, 6))
    ax.legend(fontsize=7)
    return Measurement(numbers, {"fits": fig})


register(Experiment(
    name="robust-regression-losses", topic=TOPIC, section="smooth L1 loss介绍",
    claim_zh="相比于L2损失函数, 其对离群点(指的是距离中心较远的点), 异常值(outlier)不敏感",
    claim_en="Smooth L1 (like L1) is insensitive to outliers, unlike L2 (MSE).",
    setup="Fit y = wx + b to 200 points of y = 2x + 1 + noise with 10% outliers shifted by +8..12, Adam with "
          "cosine decay (quick 200,\nfull 5000 steps) on MSE, MAE and smooth L1 (dlprimer.nn.losses, β = 1); "
          "distance of (w, b) from (2, 1).",
    criterion=Criterion((
        Condition("error_ratio_smooth_l1_over_mse", "<", 0.5, "smooth L1 at most half MSE's parameter error"),
        Condition("error_ratio_mae_over_mse", "<", 0.5, "and MAE too"),
    )),
    measure=_robust,
))


def _focal(seed: int, quick: bool) -> Measurement:
    from dlprimer.metrics.ap import average_precision
    from dlprimer.metrics.pr_curve import pr_curve
    from dlprimer.nn.losses import sigmoid_focal_loss

    rng = np.random.default_rng(seed)
    n_neg, n_pos = (2000, 20) if quick else (40000, 400)

    def sample(neg: int, pos: int) -> tuple[torch.Tensor, torch.Tensor]:
        xn = rng.normal(0, 1, (neg, 2))
        xp = rng.normal(0, 0.6, (pos, 2)) + np.array([1.8, 1.8])
        x = np.concatenate([xn, xp])
        feats = np.concatenate([x, x**2, x[:, :1] * x[:, 1:]], 1)  # quadratic features: a linear head suffices
        return torch.from_numpy(feats), torch.from_numpy(np.r_[np.zeros(neg), np.ones(pos)])

    x, y = sample(n_neg, n_pos)
    xv, yv = sample(n_neg, n_pos)
    gammas = (0.0, 0.5, 1.0, 2.0, 5.0)
    alphas = (0.25, 0.5, 0.75)
    steps = 60 if quick else 1500
    aps = np.zeros((len(alphas), len(gammas)))
    for (i, a), (j, g) in itertools.product(enumerate(alphas), enumerate(gammas)):
        torch.manual_seed(seed)
        head = nn.Linear(5, 1).double()
        with torch.no_grad():
            head.bias.fill_(-np.log((1 - 0.01) / 0.01))  # the focal-loss paper's prior π = 0.01
        opt = torch.optim.Adam(head.parameters(), lr=0.05)
        for _ in range(steps):
            loss = sigmoid_focal_loss(head(x)[:, 0], y, alpha=a, gamma=g, reduction="sum") / max(1.0, float(y.sum()))
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            scores = head(xv)[:, 0].numpy()
        curve = pr_curve(scores, yv.numpy())
        aps[i, j] = average_precision(curve, method="step")
    numbers: dict[str, float] = {f"ap_alpha_{a}_gamma_{g}": float(aps[i, j])
                                 for (i, a), (j, g) in itertools.product(enumerate(alphas), enumerate(gammas))}
    best = float(aps.max())
    numbers["best_ap"] = best
    numbers["ap_shortfall_of_alpha_0.25_gamma_2"] = best - float(aps[0, gammas.index(2.0)])
    numbers["ap_gain_gamma_2_over_0_at_alpha_0.25"] = float(aps[0, gammas.index(2.0)] - aps[0, 0])
    fig, ax = figure()
    im = ax.imshow(aps, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(gammas)), [str(g) for g in gammas])
    ax.set_yticks(range(len(alphas)), [str(a) for a in alphas])
    for (i, j), v in np.ndenumerate(aps):
        ax.text(j, i, f"{v:.3f}", ha="center", va="center", color="w", fontsize=7)
    ax.set(xlabel="γ", ylabel="α", title="validation AP (1% positives)")
    fig.colorbar(im, ax=ax)
    return Measurement(numbers, {"ap_grid": fig})


register(Experiment(
    name="focal-loss-gamma-alpha", topic=TOPIC, section="Focal Loss损失函数介绍",
    claim_zh=r"实验表明 γ\gamma 取 2, α\alpha 取 0.25 的时候效果最佳",
    claim_en="γ = 2 with α = 0.25 works best.",
    setup="Imbalanced 2-D problem (1% positives; quick 2,020 points × 60 steps, full 40,400 × 1500), logistic head "
          "on quadratic "
          "features with the prior-\nbias init, focal loss (dlprimer.nn.losses) for α ∈ {0.25, 0.5, 0.75} × "
          "γ ∈ {0, 0.5, 1, 2, 5}; validation AP (dlprimer.metrics).",
    criterion=Criterion((
        Condition("ap_shortfall_of_alpha_0.25_gamma_2", "<", 0.005, "α 0.25, γ 2 within 0.005 AP of the best"),
        Condition("ap_gain_gamma_2_over_0_at_alpha_0.25", ">", 0.0, "γ = 2 beats plain (α-balanced) CE"),
    )),
    measure=_focal,
))


def _ce_negatives(seed: int, quick: bool) -> Measurement:
    from dlprimer.scratch import Tensor
    from dlprimer.scratch import functional as F

    rng = np.random.default_rng(seed)
    n, k = (64, 10) if quick else (4096, 10)
    logits = Tensor(rng.normal(0, 2, (n, k)), requires_grad=True)
    target = rng.integers(0, k, n)
    F.cross_entropy(logits, target, reduction="sum").backward()
    g = logits.grad
    neg = np.ones((n, k), bool)
    neg[np.arange(n), target] = False
    p = np.exp(logits.data - logits.data.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    numbers = {
        "max_abs_grad_negative_logits": float(np.abs(g[neg]).max()),
        "mean_abs_grad_negative_logits": float(np.abs(g[neg]).mean()),
        "max_abs_error_grad_vs_softmax": float(np.abs(g[neg] - p[neg]).max()),
    }
    fig, ax = figure()
    ax.hist(g[neg], bins=40)
    ax.set(xlabel="∂L/∂z_j for negative classes j (= p_j)", title="softmax CE pushes every negative down")
    return Measurement(numbers, {"negative_gradients": fig})


register(Experiment(
    name="multiclass-ce-negatives", topic=TOPIC, section="Cross Entropy交叉熵损失函数介绍",
    claim_zh="多分类的loss不用考虑负样本, 只考虑正样本的判断准确率提高即可",
    claim_en="The multi-class loss ignores the negative classes.",
    setup="dlprimer.scratch cross_entropy on random logits (quick 64×10, full 4096×10); the gradient on the "
          "logits of the negative\nclasses (it equals their softmax probability p_j).",
    criterion=Criterion((
        Condition("max_abs_grad_negative_logits", "<", 1e-9, "negative classes get no gradient"),
    )),
    measure=_ce_negatives,
))


def _softmax_overflow(seed: int, quick: bool) -> Measurement:
    from dlprimer.scratch import functional as F

    rng = np.random.default_rng(seed)
    n = 16 if quick else 1024
    scales = (1.0, 10.0, 100.0, 1000.0, 1e4)
    numbers: dict[str, float] = {}
    naive_bad, stable_bad = [], []
    for s in scales:
        x = rng.normal(0, 1, (n, 10)) * s
        with np.errstate(over="ignore", invalid="ignore"):
            naive = np.exp(x) / np.exp(x).sum(1, keepdims=True)  # the formula as written
        stable = F.softmax(x, dim=1).data
        naive_bad.append(float((~np.isfinite(naive)).any(1).mean()))
        stable_bad.append(float((~np.isfinite(stable)).any(1).mean()))
    numbers["naive_nonfinite_rows_at_scale_1000"] = naive_bad[scales.index(1000.0)]
    numbers["stable_nonfinite_rows_max"] = max(stable_bad)
    numbers["naive_nonfinite_rows_at_scale_1"] = naive_bad[0]
    fig, ax = figure()
    ax.semilogx(scales, naive_bad, marker="o", label="exp(x)/Σexp(x)")
    ax.semilogx(scales, stable_bad, marker="s", label="max-subtracted (dlprimer.scratch)")
    ax.set(xlabel="logit scale", ylabel="fraction of rows with inf/nan", title="softmax overflow")
    ax.legend()
    return Measurement(numbers, {"overflow": fig})


register(Experiment(
    name="softmax-overflow", topic=TOPIC, section="softmax定义及作用",
    claim_zh="由于指数函数的方法作用过于明显, 直接使用公式容易导致数据溢出",
    claim_en="The softmax formula used directly overflows; subtract the maximum first.",
    setup="Softmax of float64 logits N(0, 1)·scale for scales 1 … 1e4 (quick 16 rows, full 1024): the naive "
          "formula vs the\nmax-subtracted dlprimer.scratch softmax; fraction of rows with inf/nan.",
    criterion=Criterion((
        Condition("naive_nonfinite_rows_at_scale_1000", ">", 0.5, "the direct formula overflows at scale 1000"),
        Condition("stable_nonfinite_rows_max", "<", 1e-12, "the max-subtracted one never does"),
    )),
    measure=_softmax_overflow,
))


def _ce_sign(seed: int, quick: bool) -> Measurement:
    rng = np.random.default_rng(seed)
    n = 100 if quick else 10000
    p = rng.dirichlet(np.ones(5), n)
    q = rng.dirichlet(np.ones(5), n)
    notes_h = (p * np.log(q)).sum(1)  # "H(P,Q) = E_{x~P} log Q(x)" as written (no minus)
    true_h = -(p * np.log(q)).sum(1)
    entropy = -(p * np.log(p)).sum(1)
    numbers = {
        "min_notes_expression": float(notes_h.min()),
        "max_notes_expression": float(notes_h.max()),
        "min_cross_entropy": float(true_h.min()),
        "min_cross_entropy_minus_entropy": float((true_h - entropy).min()),  # Gibbs: H(P,Q) ≥ H(P)
    }
    fig, ax = figure()
    ax.hist(notes_h, bins=40, alpha=0.6, label="E_P log Q (as written)")
    ax.hist(true_h, bins=40, alpha=0.6, label="−Σ P log Q")
    ax.set(title="cross-entropy of random 5-class P, Q", xlabel="value")
    ax.legend()
    return Measurement(numbers, {"sign": fig})


register(Experiment(
    name="cross-entropy-sign", topic=TOPIC, section="Cross Entropy交叉熵损失函数介绍",
    claim_zh=r"交叉熵定义; H(P,Q) = \mathbb{E}_{\textrm{x}\sim P} log Q(x)= -\sum_{i}P(x_i)logQ(x_i)",
    claim_en="H(P, Q) = E_P[log Q] (and the two sides are equal).",
    setup="Random 5-class distributions P, Q (Dirichlet; quick 100 pairs, full 10,000): the notes' "
          "E_P log Q against −Σ P log Q;\na cross-entropy is ≥ 0 (and ≥ H(P)).",
    criterion=Criterion((
        Condition("min_notes_expression", ">=", 0.0, "the expression as written is a valid (non-negative) "
                                                    "cross-entropy"),
    )),
    measure=_ce_sign,
))


def _label_smoothing_loss(seed: int, quick: bool) -> Measurement:
    rng = np.random.default_rng(seed)
    n, k, eps = (32, 10, 0.1) if quick else (4096, 10, 0.1)
    logits = torch.from_numpy(rng.normal(0, 2, (n, k)))
    y = torch.from_numpy(rng.integers(0, k, n))
    logp = logits.log_softmax(1)
    torch_loss = nn.functional.cross_entropy(logits, y, label_smoothing=eps, reduction="none")
    # the notes' soft target q_i = 1 − ε + ε/N (i = y), ε/N otherwise, with H(q, p)
    q = torch.full((n, k), eps / k, dtype=torch.float64)
    q[torch.arange(n), y] = 1 - eps + eps / k
    notes_q_loss = -(q * logp).sum(1)
    # the notes' "Loss_i = (1−ε)·Loss if i = y, ε·Loss if i ≠ y", read as per-class weights on −log p_i
    w = torch.full((n, k), eps, dtype=torch.float64)
    w[torch.arange(n), y] = 1 - eps
    notes_weighted = -(w * logp).sum(1)
    numbers = {
        "max_abs_difference_soft_target_vs_torch": float((notes_q_loss - torch_loss).abs().max()),
        "max_abs_difference_weighted_rule_vs_torch": float((notes_weighted - torch_loss).abs().max()),
    }
    fig, ax = figure()
    ax.scatter(torch_loss, notes_q_loss, s=6, label="q_i formula")
    ax.scatter(torch_loss, notes_weighted, s=6, label="(1−ε)·Loss / ε·Loss rule")
    ax.plot([0, float(torch_loss.max())], [0, float(torch_loss.max())], "k:", lw=0.8)
    ax.set(xlabel="torch cross_entropy(label_smoothing=0.1)", ylabel="notes' convention", title="label-smoothed CE")
    ax.legend(fontsize=7)
    return Measurement(numbers, {"conventions": fig})


register(Experiment(
    name="label-smoothing-loss", topic=TOPIC, section="Label-smooth详解",
    claim_zh=(r"交叉熵损失发生变化; \operatorname{Loss}_i=\left\{\begin{array}{l}(1-\varepsilon)^* "
              r"\operatorname{Loss}, i f(i=y) \\ \varepsilon * \operatorname{Loss}, i f(i \neq y)\end{array}\right."),
    claim_en="The smoothed loss is (1−ε)·Loss for the true class and ε·Loss for the others (and agrees with the "
             "soft targets q_i).",
    setup="Random logits (quick 32×10, full 4096×10), ε = 0.1: torch's cross_entropy(label_smoothing) against the "
          "notes' soft targets\nq_i = 1 − ε + ε/N (i = y), ε/N otherwise, and against the per-class (1−ε)/ε "
          "weighting rule.",
    criterion=Criterion((
        Condition("max_abs_difference_soft_target_vs_torch", "<", 1e-9, "the q_i formula matches torch"),
        Condition("max_abs_difference_weighted_rule_vs_torch", "<", 1e-9, "the (1−ε)/ε loss rule matches too"),
    )),
    measure=_label_smoothing_loss,
))


