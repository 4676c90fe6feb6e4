"""Optimization experiments (notes: Batch_Size, 学习率和BatchSize对模型的影响, SGD和Adam的区别, Adam缺点,
SGD的S体现在哪里, 梯度消失和梯度爆炸, 如何解决ReLu神经元死亡的问题).

Timed experiments keep wall-clock figures under keys containing ``time`` and judge ratios of timings taken in
the same run (the machine may be loaded; the ratios are what the verdict reads).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from dlprimer.experiments._common import accuracy, digits, figure, generator, init_linears, mlp, smooth, train
from dlprimer.experiments.base import Condition, Criterion, Experiment, Measurement
from dlprimer.experiments.registry import register

TOPIC = "optimization"
SECTION_LR_BS = "学习率和BatchSize对模型的影响"


def _batch_size(seed: int, quick: bool) -> Measurement:
    data = digits(seed, n_train=256 if quick else None)
    batches = (1, 16, 256) if quick else (1, 4, 16, 64, 256)
    epochs = 1 if quick else 20
    numbers: dict[str, float] = {}
    throughput, accs = [], []
    for bs in batches:
        torch.manual_seed(seed)
        model = mlp([64, 128, 10], "relu")
        steps = max(1, epochs * len(data.y_train) // bs)
        lr = 0.05 * (bs / 16) ** 0.5 if bs > 1 else 0.01
        start = time.perf_counter()
        train(model, data.x_train, data.y_train, steps=steps, batch_size=bs, lr=lr, momentum=0.9,
              gen=generator(seed))
        elapsed = time.perf_counter() - start
        throughput.append(steps * bs / elapsed)
        accs.append(accuracy(model, data.x_val, data.y_val))
        numbers[f"time_images_per_s_batch_{bs}"] = throughput[-1]
        numbers[f"val_accuracy_batch_{bs}"] = accs[-1]
    hi = batches[-1]
    numbers[f"time_throughput_ratio_batch_{hi}_over_1"] = throughput[-1] / throughput[0]
    numbers[f"accuracy_gain_batch_16_over_{hi}"] = numbers["val_accuracy_batch_16"] - accs[-1]
    fig, axes = figure(ncols=2, width=4.2)
    axes[0].loglog(batches, throughput, marker="o")
    axes[0].set(xlabel="batch size", ylabel="training images / s", title="throughput (this machine)")
    axes[1].semilogx(batches, accs, marker="o")
    axes[1].set(xlabel="batch size", ylabel="validation accuracy", title=f"after {epochs} epochs")
    return Measurement(numbers, {"batch_size": fig})


register(Experiment(
    name="batch-size", topic=TOPIC, section=SECTION_LR_BS,
    claim_zh="大的BatchSize减少训练时间, 提高稳定性; ... 大的BatchSize导致模型泛化能力下降",
    claim_en="A large batch trains faster (more images per second) but generalizes worse.",
    setup="64-128-10 MLP on digits, SGD+momentum, lr ∝ √batch, the same number of epochs for every batch size "
          "(quick 1 on 256 images, full 20 on all);\nthroughput in images/s and validation accuracy.",
    criterion=Criterion((
        Condition("time_throughput_ratio_batch_256_over_1", ">", 5.0, "batch 256 processes over 5x the images/s"),
        Condition("accuracy_gain_batch_16_over_256", ">", 0.01, "batch 16 generalizes better than 256"),
    )),
    measure=_batch_size,
    timed=True,
))


def _scaled_run(seed: int, data: object, bs: int, lr: float, warmup: int, epochs: int) -> tuple[float, list[float]]:
    from dlprimer.schedules import build_schedule

    steps = epochs * len(data.y_train) // bs  # type: ignore[attr-defined]
    sched = build_schedule("constant", lr, steps, warmup_steps=warmup, warmup_start_factor=0.01) if warmup else None
    torch.manual_seed(seed)
    model = mlp([64, 128, 128, 10], "relu")
    init_linears(model, "he")
    losses = train(model, data.x_train, data.y_train, steps=steps, batch_size=bs,  # type: ignore[attr-defined]
                   lr=sched if sched is not None else lr, momentum=0.9, gen=generator(seed))
    return accuracy(model, data.x_val, data.y_val), losses  # type: ignore[attr-defined]


def _linear_scaling(seed: int, quick: bool) -> Measurement:
    data = digits(seed)
    epochs = 3 if quick else 30
    base_bs, base_lr, k = 16, 0.02, 16
    acc_base, l_base = _scaled_run(seed, data, base_bs, base_lr, 0, epochs)
    acc_scaled, l_scaled = _scaled_run(seed, data, base_bs * k, base_lr * k, 0, epochs)
    warm = max(2, (epochs * len(data.y_train) // (base_bs * k)) // 5)
    acc_warm, l_warm = _scaled_run(seed, data, base_bs * k, base_lr * k, warm, epochs)
    numbers = {
        "val_accuracy_base": acc_base, "val_accuracy_scaled_no_warmup": acc_scaled,
        "val_accuracy_scaled_warmup": acc_warm, "warmup_steps": float(warm),
        "accuracy_loss_scaled_warmup": acc_base - acc_warm,
        "accuracy_gain_warmup": acc_warm - acc_scaled,
    }
    fig, ax = figure()
    for label, ls, bs in (("batch 16, lr 0.02", l_base, base_bs), ("batch 256, lr 0.32", l_scaled, base_bs * k),
                          ("batch 256, lr 0.32 + warmup", l_warm, base_bs * k)):
        ax.semilogy(np.arange(len(ls)) * bs / len(data.y_train), np.nan_to_num(smooth(ls, 5), nan=1e3), label=label)
    ax.set(xlabel="epoch", ylabel="training loss", title="linear scaling rule (k = 16)")
    ax.legend(fontsize=7)
    return Measurement(numbers, {"loss": fig})


register(Experiment(
    name="linear-scaling-warmup", topic=TOPIC, section=SECTION_LR_BS,
    claim_zh="如果增加了学习率, 那么batch size最好也跟着增加, 这样收敛更稳定",
    claim_en="Scale the learning rate with the batch size (linear scaling rule); warmup keeps the scaled run "
             "stable.",
    setup="64-128-128-10 MLP, He init, SGD+momentum on digits for a fixed number of epochs (quick 3, full 30): "
          "batch 16 at lr 0.02\nvs batch 256 at lr 0.32 without and with a linear warmup over the first fifth.",
    criterion=Criterion((
        Condition("accuracy_loss_scaled_warmup", "<", 0.03, "scaled + warmup within 3 points of the base run"),
        Condition("accuracy_gain_warmup", ">=", 0.0, "warmup does not hurt the scaled run"),
    )),
    measure=_linear_scaling,
))


def _warmup_high_lr(seed: int, quick: bool) -> Measurement:
    from dlprimer.schedules import build_schedule

    data = digits(seed)
    steps = 150 if quick else 1500
    lr = 0.3
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for label, warmup in (("no_warmup", 0), ("warmup", steps // 5)):
        sched = build_schedule("cosine", lr, steps, warmup_steps=warmup, warmup_start_factor=0.01)
        torch.manual_seed(seed)
        model = mlp([64, 128, 128, 128, 10], "relu")
        init_linears(model, "he")
        losses = train(model, data.x_train, data.y_train, steps=steps, batch_size=64, lr=sched, momentum=0.9,
                       gen=generator(seed))
        numbers[f"val_accuracy_{label}"] = accuracy(model, data.x_val, data.y_val)
        numbers[f"max_loss_{label}"] = float(np.nanmax(losses)) if np.isfinite(losses).all() else 1e9
        ax.semilogy(np.nan_to_num(losses, nan=1e3), label=label.replace("_", " "), lw=0.8)
    numbers["accuracy_gain_warmup"] = numbers["val_accuracy_warmup"] - numbers["val_accuracy_no_warmup"]
    numbers["max_loss_ratio_no_warmup_over_warmup"] = numbers["max_loss_no_warmup"] / numbers["max_loss_warmup"]
    ax.set(xlabel="step", ylabel="training loss", title="peak lr 0.3, cosine decay, SGD+momentum")
    ax.legend()
    return Measurement(numbers, {"loss": fig})


register(Experiment(
    name="warmup-high-lr", topic=TOPIC, section=SECTION_LR_BS,
    claim_zh="由小到大: 初始时模型对数据分布理解为零, 较大的学习率导致模型不稳定, 容易过拟合; 随后适当增大学习率, "
             "模型相对稳定, 收敛速度变快, 模型效果较好",
    claim_en="Warmup (small rate first, then the large one) stabilizes training at a high learning rate.",
    setup="64-128-128-128-10 MLP, He init, SGD+momentum 0.9, cosine schedule with peak lr 0.3 on digits (quick 150 "
          "steps,\nfull 1500), with and without a linear warmup over the first fifth (dlprimer.schedules).",
    criterion=Criterion((
        Condition("max_loss_ratio_no_warmup_over_warmup", ">", 1.5, "without warmup the loss spikes 1.5x higher"),
        Condition("accuracy_gain_warmup", ">", 0.01, "warmup ends more accurate"),
    )),
    measure=_warmup_high_lr,
))


def _optimizers(seed: int, quick: bool) -> Measurement:
    data = digits(seed)
    steps = 150 if quick else 1500
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for label, opt, lr, mom in (("sgd", "sgd", 0.01, 0.0), ("momentum", "sgd", 0.01, 0.9), ("adam", "adam", 1e-3, 0.0)):
        torch.manual_seed(seed)
        model = mlp([64, 64, 64, 10], "relu")
        losses = train(model, data.x_train, data.y_train, steps=steps, batch_size=32, lr=lr, momentum=mom,
                       optimizer=opt, gen=generator(seed))
        numbers[f"final_loss_{label}"] = float(np.mean(losses[-20:]))
        numbers[f"val_accuracy_{label}"] = accuracy(model, data.x_val, data.y_val)
        ax.semilogy(smooth(losses), label=f"{label} (lr {lr:g})")
    numbers["loss_ratio_momentum_over_sgd"] = numbers["final_loss_momentum"] / numbers["final_loss_sgd"]
    numbers["loss_ratio_adam_over_sgd"] = numbers["final_loss_adam"] / numbers["final_loss_sgd"]
    ax.set(xlabel="step", ylabel="training loss (moving avg)", title="64-64-64-10 MLP on digits, batch 32")
    ax.legend()
    return Measurement(numbers, {"loss": fig})


register(Experiment(
    name="sgd-momentum-adam", topic=TOPIC, section="SGDAdam的区别",
    claim_zh="优化函数如果训练比较小的自定义的数据集, adam是比较合适的选择",
    claim_en="On a small custom data set Adam (first and second moments) is the fitting choice: it beats plain "
             "SGD, as momentum does.",
    setup="64-64-64-10 MLP on the digits (small data), batch 32, each optimizer at its default-style rate (SGD and "
          "momentum 0.01,\nAdam 1e-3); quick 150 steps, full 1500; training loss over the last 20 steps.",
    criterion=Criterion((
        Condition("loss_ratio_momentum_over_sgd", "<", 0.7, "momentum ends 30% lower than SGD"),
        Condition("loss_ratio_adam_over_sgd", "<", 0.7, "Adam ends 30% lower than SGD"),
    )),
    measure=_optimizers,
))


def _reddi(seed: int, quick: bool) -> Measurement:
    """Reddi, Kale & Kumar (ICLR 2018), section 3: online f_t(x) = 1010·x if t mod 101 == 1 else −10·x on
    x ∈ [−1, 1]. The optimum is x = −1; Adam with β₁ = 0, β₂ = 1/(1 + C²)-like settings drifts to +1."""
    from dlprimer.scratch import Tensor
    from dlprimer.scratch.optim import Adam

    del seed  # deterministic problem
    steps = 3000 if quick else 30000
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for label, ams in (("adam", False), ("amsgrad", True)):
        x = Tensor(np.array([0.0]), requires_grad=True)
        opt = Adam([x], lr=0.1, betas=(0.9, 0.99), amsgrad=ams)
        xs = []
        for t in range(1, steps + 1):
            coef = 1010.0 if t % 101 == 1 else -10.0
            loss = (x * coef).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            x.data[...] = np.clip(x.data, -1.0, 1.0)  # projection onto the feasible set
            xs.append(float(x.data[0]))
        numbers[f"final_x_{label}"] = float(np.mean(xs[-101:]))
        ax.plot(xs, label=label, lw=0.8)
    ax.axhline(-1, color="k", ls=":", label="optimum x = −1")
    ax.set(xlabel="t", ylabel="x", title="Reddi et al. online counterexample")
    ax.legend()
    return Measurement(numbers, {"trajectory": fig})


register(Experiment(
    name="adam-nonconvergence", topic=TOPIC, section="Adam缺点",
    claim_zh="二阶动量是固定时间窗口内的累积, 随着时间窗口的变化, 遇到的数据可能发生巨变 ... "
             "不是单调变化. 这就可能在训练后期引起学习率的震荡, 导致模型无法收敛",
    claim_en="Adam may not converge because its second moment is not monotone; AMSGrad (a monotone V_t) fixes it.",
    setup="Reddi et al.'s online problem f_t(x) = 1010x (t mod 101 = 1) else −10x on [−1, 1], optimum −1; "
          "dlprimer.scratch Adam vs\nAMSGrad, lr 0.1, β = (0.9, 0.99), projected; quick 3,000 steps, full 30,000.",
    criterion=Criterion((
        Condition("final_x_adam", ">", 0.0, "Adam ends on the wrong side (does not converge to −1)"),
        Condition("final_x_amsgrad", "<", -0.3, "AMSGrad heads for the optimum (on its side of 0)"),
    )),
    measure=_reddi,
))


def _lr_range(seed: int, quick: bool) -> Measurement:
    data = digits(seed)
    sweep_steps = 100 if quick else 400
    lo, hi = 1e-4, 10.0
    torch.manual_seed(seed)
    model = mlp([64, 128, 10], "relu")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    lrs = lo * (hi / lo) ** (np.arange(sweep_steps) / (sweep_steps - 1))
    losses = train(model, data.x_train, data.y_train, steps=sweep_steps, batch_size=64,
                   lr=lambda s: float(lrs[s]), momentum=0.9, gen=generator(seed))
    sm = smooth(losses, 5)
    best_i = int(np.nanargmin(np.where(np.isfinite(sm), sm, np.nan)))
    suggested = float(lrs[best_i]) / 10.0  # the usual rule: a tenth of the rate at the lowest loss
    numbers: dict[str, float] = {"suggested_lr": suggested}
    train_steps = 150 if quick else 1500
    for label, lr in (("suggested", suggested), ("too_small", suggested / 100), ("too_large", suggested * 30)):
        model.load_state_dict(state)
        train(model, data.x_train, data.y_train, steps=train_steps, batch_size=64, lr=lr, momentum=0.9,
              gen=generator(seed, 1))
        numbers[f"val_accuracy_{label}"] = accuracy(model, data.x_val, data.y_val)
    numbers["gain_over_too_small"] = numbers["val_accuracy_suggested"] - numbers["val_accuracy_too_small"]
    numbers["gain_over_too_large"] = numbers["val_accuracy_suggested"] - numbers["val_accuracy_too_large"]
    fig, ax = figure()
    ax.semilogx(lrs[:len(sm)], np.nan_to_num(sm, nan=np.nanmax(sm[np.isfinite(sm)]) * 2))
    ax.axvline(suggested, color="r", ls="--", label=f"suggested {suggested:.3g}")
    ax.set(xlabel="learning rate (exponential sweep)", ylabel="training loss", title="LR range test")
    ax.set_ylim(top=float(np.nanmax(sm[:5])) * 2)
    ax.legend()
    return Measurement(numbers, {"range_test": fig})


register(Experiment(
    name="lr-range-test", topic=TOPIC, section=SECTION_LR_BS,
    claim_zh="初始学习率过大模型不收敛, 过小导致模型收敛太慢或无法学习(可采用搜索法进行搜索)",
    claim_en="Too large a rate diverges, too small learns slowly; search for it (an LR range test finds a good "
             "one).",
    setup="64-128-10 MLP on digits: the loss over an exponential lr sweep 1e-4 → 10 (quick 100 steps, full 400); "
          "suggested lr = (rate at\nthe lowest smoothed loss) / 10; then train from the same init at it, /100 and ×30.",
    criterion=Criterion((
        Condition("gain_over_too_small", ">", 0.05, "suggested beats a 100x smaller rate by 5 points"),
        Condition("gain_over_too_large", ">", 0.05, "and a 30x larger rate by 5 points"),
    )),
    measure=_lr_range,
))


def _clipping(seed: int, quick: bool) -> Measurement:
    data = digits(seed)
    steps = 100 if quick else 1000
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for label, clip in (("no_clip", None), ("clip", 1.0)):
        torch.manual_seed(seed)
        model = mlp([64] + [64] * 10 + [10], "relu")
        init_linears(model, "normal", std=0.25)  # 1.4x He's std: activations and gradients grow with depth
        first_grad: list[float] = []

        def probe(step: int, model: nn.Module = model, first_grad: list[float] = first_grad) -> None:
            if step == 0:
                first_grad.append(float(model[0].weight.grad.norm()))

        losses = train(model, data.x_train, data.y_train, steps=steps, batch_size=64, lr=0.01, momentum=0.9,
                       clip=clip, gen=generator(seed), callback=probe)
        finite = [v for v in losses if np.isfinite(v)]
        numbers[f"final_loss_{label}"] = float(np.mean(losses[-10:])) if np.isfinite(losses[-10:]).all() else 1e9
        numbers[f"val_accuracy_{label}"] = accuracy(model, data.x_val, data.y_val)
        numbers["initial_gradient_norm_first_layer"] = first_grad[0] if first_grad else float("nan")
        ax.semilogy(np.nan_to_num(losses, nan=max(finite, default=1.0) * 10), label=label.replace("_", " "))
    numbers["final_loss_ratio_clip_over_no_clip"] = numbers["final_loss_clip"] / numbers["final_loss_no_clip"]
    numbers["accuracy_gain_clip"] = numbers["val_accuracy_clip"] - numbers["val_accuracy_no_clip"]
    ax.set(xlabel="step", ylabel="training loss", title="10×64 plain ReLU net, weights N(0, 0.25²)")
    ax.legend()
    return Measurement(numbers, {"loss": fig})


register(Experiment(
    name="gradient-clipping", topic=TOPIC, section="梯度消失和梯度爆炸以及解决方法",
    claim_zh="梯度剪枝: 对梯度设定阈值",
    claim_en="Gradient clipping (a threshold on the gradient) is a remedy for exploding gradients.",
    setup="64→10×64→10 plain ReLU MLP with too-large N(0, 0.25²) weights (exploding), SGD+momentum lr 0.01 on "
          "digits,\nwith and without clip_grad_norm_(1.0) (quick 100 steps, full 1000).",
    criterion=Criterion((
        Condition("final_loss_ratio_clip_over_no_clip", "<", 0.5, "clipping halves the final loss or better"),
        Condition("accuracy_gain_clip", ">", 0.05, "and gains 5 accuracy points"),
    )),
    measure=_clipping,
))


def _momentum_not_adaptive(seed: int, quick: bool) -> Measurement:
    from dlprimer.scratch import Tensor
    from dlprimer.scratch.optim import SGD, Adam

    del seed
    steps = 50 if quick else 500
    scales = np.array([0.01, 1.0, 100.0])  # three parameters whose gradients differ by 10^4
    numbers: dict[str, float] = {}
    fig, ax = figure()
    for label, make in (("momentum", lambda p: SGD([p], lr=0.01, momentum=0.9)),
                        ("adam", lambda p: Adam([p], lr=0.01))):
        p = Tensor(np.zeros(3), requires_grad=True)
        opt = make(p)
        ratios = []
        for _ in range(steps):
            before = p.data.copy()
            (p * Tensor(scales, requires_grad=False)).sum().backward()
            opt.step()
            opt.zero_grad()
            ratios.append(np.abs(p.data - before) / scales)  # effective per-parameter learning rate
        eff = ratios[-1]
        numbers[f"effective_lr_spread_{label}"] = float(eff.max() / eff.min())
        ax.loglog(scales, eff, marker="o", label=label)
    ax.set(xlabel="gradient scale of the parameter", ylabel="|Δθ| / |g| at the last step",
           title="effective per-parameter learning rate")
    ax.legend()
    return Measurement(numbers, {"effective_lr": fig})


register(Experiment(
    name="momentum-not-adaptive", topic=TOPIC, section="如何解决ReLu神经元死亡的问题",
    claim_zh="使用momentum优化算法动态调整学习率",
    claim_en="Momentum adjusts the learning rate dynamically (per parameter).",
    setup="Three parameters with constant gradients 0.01, 1 and 100 (dlprimer.scratch SGD momentum 0.9 vs Adam, "
          "lr 0.01);\neffective rate |Δθ|/|g| per parameter after quick 50 / full 500 steps.",
    criterion=Criterion((
        Condition("effective_lr_spread_momentum", ">", 2.0, "momentum gives different parameters different rates"),
    )),
    measure=_momentum_not_adaptive,
))


def _sgd_global(seed: int, quick: bool) -> Measurement:
    """SGD with gradient noise on the tilted double well f(w) = (w² − 1)² + 0.3·w (global minimum near −1.04,
    a local one near +0.96)."""
    rng = np.random.default_rng(seed)
    runs, steps = (200, 500) if quick else (2000, 5000)
    w = rng.uniform(-2, 2, runs)
    lr, noise = 0.01, 1.0
    for _ in range(steps):
        grad = 4 * w * (w * w - 1) + 0.3 + rng.normal(0, noise, runs)
        w = w - lr * grad
    global_w = -1.0 - 0.3 / 8  # first-order estimate; the basin is w < 0
    numbers = {
        "fraction_in_global_basin": float((w < 0).mean()),
        "mean_distance_to_global_min": float(np.abs(w[w < 0] - global_w).mean()) if (w < 0).any() else 1e9,
    }
    fig, ax = figure()
    grid = np.linspace(-1.8, 1.8, 300)
    ax.plot(grid, (grid**2 - 1) ** 2 + 0.3 * grid, "k", lw=1)
    ax2 = ax.twinx()
    ax2.hist(w, bins=60, alpha=0.5, color="C1")
    ax.set(xlabel="w", ylabel="f(w)", title="where noisy SGD ends (histogram)")
    return Measurement(numbers, {"double_well": fig})


register(Experiment(
    name="sgd-global-optimum", topic=TOPIC, section="SGDS(stochastic随机)体现在哪里",
    claim_zh="和全部数据loss不一样, 其是在不断的振动的, 但最后是达到全局最优的",
    claim_en="SGD oscillates but finally reaches the global optimum.",
    setup="Noisy gradient descent (σ = 1 gradient noise, lr 0.01) on the tilted double well (w²−1)² + 0.3w from "
          "uniform starts in [−2, 2]\n(quick 200 runs × 500 steps, full 2000 × 5000); where the runs end.",
    criterion=Criterion((
        Condition("fraction_in_global_basin", ">", 0.99, "every run ends in the global minimum's basin"),
    )),
    measure=_sgd_global,
))


def _update_flow(seed: int, quick: bool) -> Measurement:
    """The notes' update flow (read data, forward, loss, backward, [unscale], step) has no ``zero_grad()`` and
    no ``scaler.update()``: gradients then accumulate over iterations and the loss scale never adapts."""
    data_gen = generator(seed)
    steps = 20 if quick else 200
    x = torch.randn(64, 8, generator=data_gen, dtype=torch.float64)
    y = x @ torch.randn(8, 1, generator=data_gen, dtype=torch.float64)
    numbers: dict[str, float] = {}
    curves = {}
    for label, zero in (("with_zero_grad", True), ("notes_flow", False)):
        torch.manual_seed(seed)
        model = nn.Linear(8, 1).double()
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        losses, grad_norms = [], []
        for _ in range(steps):
            loss = nn.functional.mse_loss(model(x), y)
            if zero:
                opt.zero_grad()
            loss.backward()
            grad_norms.append(float(model.weight.grad.norm()))
            opt.step()
            losses.append(float(loss.detach()))
        numbers[f"final_loss_{label}"] = float(np.mean(losses[-3:])) if np.isfinite(losses[-3:]).all() else 1e9
        curves[label] = losses
        if not zero:  # on the first two steps the stored gradient is the sum of both iterations' gradients
            numbers["second_step_grad_over_fresh_grad"] = grad_norms[1] / grad_norms[0]
    # a GradScaler without scaler.update(): torch refuses the second step ("step() has already been called")
    raised = {}
    for label, update in (("with_update", True), ("notes_flow", False)):
        p = nn.Parameter(torch.ones(2))
        opt = torch.optim.SGD([p], lr=0.1)
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
        raised[label] = 0.0
        try:
            for _ in range(3):
                opt.zero_grad()
                scaler.scale((p * 2.0).sum()).backward()
                scaler.step(opt)
                if update:
                    scaler.update()
        except RuntimeError:
            raised[label] = 1.0
    numbers["scaler_error_notes_flow"] = raised["notes_flow"]
    numbers["scaler_error_with_update"] = raised["with_update"]
    numbers["loss_ratio_notes_over_zero_grad"] = numbers["final_loss_notes_flow"] / max(
        numbers["final_loss_with_zero_grad"], 1e-300)
    fig, ax = figure()
    for label, c in curves.items():
        ax.semilogy(np.nan_to_num(c, nan=1e9), label=label.replace("_", " "))
    ax.set(xlabel="step", ylabel="training loss", title="linear regression, SGD lr 0.05")
    ax.legend()
    return Measurement(numbers, {"loss": fig})


register(Experiment(
    name="update-flow", topic=TOPIC, section="模型搭建流程",
    claim_zh="4. 反向传播, 计算梯度. loss.backward() or scaler.scale(loss).backward() ... "
             "6. 使用优化器由梯度更新权重. optimizer.step() or scaler.step(optimizer)",
    claim_en="The update flow is: forward, loss, backward, (unscale), optimizer step — with no zero_grad() and "
             "no scaler.update().",
    setup="Linear regression (64×8, SGD lr 0.05; quick 20 steps, full 200) with and without optimizer.zero_grad(); "
          "three steps of\na CPU GradScaler loop with and without scaler.update().",
    criterion=Criterion((
        Condition("second_step_grad_over_fresh_grad", "<", 1.5, "without zero_grad the gradient does not pile up"),
        Condition("loss_ratio_notes_over_zero_grad", "<", 2.0, "the notes' flow trains as well"),
        Condition("scaler_error_notes_flow", "<", 0.5, "a GradScaler loop without scaler.update() runs"),
    )),
    measure=_update_flow,
))
