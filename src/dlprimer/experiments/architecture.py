"""Architecture experiments (notes: 为什么使用深层表示, 卷积层是否越大越好, 怎样才能减少卷积层参数量, ResNet,
特征融合concat和add的区别, 池化层, 手动设计高效CNN架构的结论和建议, 卷积操作和互相关操作的关系)."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from dlprimer.experiments._common import accuracy, digits, figure, generator, train
from dlprimer.experiments.base import Condition, Criterion, Experiment, Measurement
from dlprimer.experiments.registry import register

TOPIC = "architecture"


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------------------------ deep vs wide
def _sawtooth(x: torch.Tensor, teeth: int) -> torch.Tensor:
    return 1 - 2 * torch.abs(x * teeth - torch.floor(x * teeth + 0.5))  # triangle wave in [−1, 1]


def _deep_vs_wide(seed: int, quick: bool) -> Measurement:
    teeth, steps = 4, (200 if quick else 6000)
    restarts = 1 if quick else 3
    gen = generator(seed)
    x = torch.rand(512, 1, generator=gen, dtype=torch.float64)
    y = _sawtooth(x, teeth)
    xt = torch.linspace(0, 1, 1000, dtype=torch.float64)[:, None]
    yt = _sawtooth(xt, teeth)
    width, depth = 8, 6
    deep_layers: list[nn.Module] = [nn.Linear(1, width), nn.ReLU()]
    for _ in range(depth - 1):
        deep_layers += [nn.Linear(width, width), nn.ReLU()]
    deep = nn.Sequential(*deep_layers, nn.Linear(width, 1)).double()
    hidden = (_params(deep) - 1) // 3  # 1 → h → 1 has 3h + 1 parameters
    nets = {"deep": deep, "shallow": nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, 1)).double()}
    numbers: dict[str, float] = {}
    fig, ax = figure()
    ax.plot(xt[:, 0], yt[:, 0], "k", lw=1, label="target")
    for label, net in nets.items():
        best = float("inf")
        best_pred = None
        for restart in range(restarts):  # deep narrow nets can stall at init; keep the best start
            torch.manual_seed(seed * 10 + restart)
            for m in net.modules():
                if isinstance(m, nn.Linear):
                    m.reset_parameters()
            train(net, x, y, steps=steps, batch_size=128, lr=3e-3, optimizer="adam", gen=gen,
                  loss_fn=nn.functional.mse_loss)
            with torch.no_grad():
                pred = net(xt)
            mse = float(((pred - yt) ** 2).mean())
            if mse < best:
                best, best_pred = mse, pred
        numbers[f"params_{label}"] = float(_params(net))
        numbers[f"test_mse_{label}"] = best
        ax.plot(xt[:, 0], best_pred[:, 0], label=f"{label} ({_params(net)} params, MSE {best:.3g})")
    numbers["mse_ratio_deep_over_shallow"] = numbers["test_mse_deep"] / numbers["test_mse_shallow"]
    ax.set(xlabel="x", title=f"fit a {teeth}-tooth sawtooth, equal parameter count")
    ax.legend(fontsize=7)
    return Measurement(numbers, {"fits": fig})


register(Experiment(
    name="deep-vs-wide", topic=TOPIC, section="为什么使用深层表示",
    claim_zh="深层的网络隐藏单元数量相对较少, 隐藏层数目较多, 若浅层的网络想达到相同的计算结果需要指数级增长的单元数量",
    claim_en="A deep narrow network does with few units what a shallow one needs exponentially many units for.",
    setup="Regression of a 4-tooth sawtooth on [0, 1]: 6×8 ReLU MLP vs one hidden layer with the same parameter "
          "count, Adam 3e-3,\nbest of 3 starts (quick: 1 start, 200 steps; full 6000 steps); test MSE on a "
          "1000-point grid.",
    criterion=Criterion((
        Condition("mse_ratio_deep_over_shallow", "<", 0.5, "deep narrow halves the error at equal parameters"),
    )),
    measure=_deep_vs_wide,
))


# ------------------------------------------------------------------------------------------- stacked 3×3
def _conv_stack(kernels: list[int], channels: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    c_in = 1
    for k in kernels:
        layers += [nn.Conv2d(c_in, channels, k, padding=k // 2), nn.ReLU()]
        c_in = channels
    return nn.Sequential(*layers)


def _classifier(body: nn.Sequential, channels: int) -> nn.Sequential:
    return nn.Sequential(body, nn.Flatten(), nn.Linear(channels * 64, 10)).double()  # 8×8 inputs, 'same' padding


def _stacked_3x3(seed: int, quick: bool) -> Measurement:
    from dlprimer.analysis.complexity import profile
    from dlprimer.analysis.shapes import receptive_field_chain

    c = 16
    numbers: dict[str, float] = {}
    variants = {"two_3x3": [3, 3], "one_5x5": [5], "three_3x3": [3, 3, 3], "one_7x7": [7]}
    data = digits(seed, n_train=300 if quick else None)
    xi = data.x_train.reshape(-1, 1, 8, 8)
    xv = data.x_val.reshape(-1, 1, 8, 8)
    steps = 60 if quick else 1500
    for label, ks in variants.items():
        body = _conv_stack([ks[0]] + ks[1:], c)
        # the comparison is the stack C→C (a first layer from 1 channel is not representative); count C→C
        cc = nn.Sequential(*[nn.Conv2d(c, c, k, padding=k // 2) for k in ks])
        table = profile(cc, (c, 16, 16))
        numbers[f"params_{label}"] = float(table.total.params)
        numbers[f"macs_{label}"] = float(table.total.macs)
        numbers[f"receptive_field_{label}"] = float(receptive_field_chain([(k, 1, k // 2) for k in ks])[-1].rf)
        torch.manual_seed(seed)
        model = _classifier(body, c)
        train(model, xi, data.y_train, steps=steps, batch_size=32, lr=0.05, momentum=0.9, gen=generator(seed))
        numbers[f"val_accuracy_{label}"] = accuracy(model, xv, data.y_val)
    for small, big in (("two_3x3", "one_5x5"), ("three_3x3", "one_7x7")):
        numbers[f"param_ratio_{small}_over_{big}"] = numbers[f"params_{small}"] / numbers[f"params_{big}"]
        numbers[f"rf_difference_{big}_minus_{small}"] = (numbers[f"receptive_field_{big}"]
                                                         - numbers[f"receptive_field_{small}"])
        numbers[f"accuracy_gain_{small}_over_{big}"] = numbers[f"val_accuracy_{small}"] - numbers[f"val_accuracy_{big}"]
    fig, axes = figure(ncols=2, width=4.2)
    labels = list(variants)
    axes[0].bar(labels, [numbers[f"params_{v}"] for v in labels])
    axes[0].set(title=f"parameters of the {c}→{c} stack", ylabel="parameters")
    axes[1].bar(labels, [numbers[f"val_accuracy_{v}"] for v in labels], color="C1")
    axes[1].set(title="digits accuracy (8×8)", ylim=(0, 1))
    for ax in axes:
        ax.tick_params(axis="x", labelsize=7)
    return Measurement(numbers, {"stacked": fig})


register(Experiment(
    name="stacked-3x3", topic=TOPIC, section="卷积层是否越大越好",
    claim_zh="3x3卷积层的堆叠可以在获得相同感受野的前提下使用更少的参数, 多层的卷积也能增加模型的非线性效果",
    claim_en="Stacked 3×3 convolutions reach the same receptive field as one 5×5 / 7×7 with fewer parameters "
             "(and more non-linearity).",
    setup="16→16 stacks: two 3×3 vs one 5×5, three 3×3 vs one 7×7: parameters and MACs (dlprimer.analysis.profile "
          "on 16×16),\nreceptive field (analysis.shapes); small CNNs on 8×8 digits (quick 60 steps, full 1500).",
    criterion=Criterion((
        Condition("param_ratio_two_3x3_over_one_5x5", "<", 0.8, "two 3×3 use under 80% of a 5×5's parameters"),
        Condition("param_ratio_three_3x3_over_one_7x7", "<", 0.6, "three 3×3 use under 60% of a 7×7's"),
        Condition("rf_difference_one_7x7_minus_three_3x3", "<=", 0.0, "same receptive field"),
        Condition("accuracy_gain_three_3x3_over_one_7x7", ">", -0.02, "no loss of accuracy"),
    )),
    measure=_stacked_3x3,
))


def _savings(seed: int, quick: bool) -> Measurement:
    from dlprimer.analysis.complexity import conv_params_notes, profile

    del seed, quick  # exact counts
    c, mid, hw = 256, 64, 28
    plain = nn.Conv2d(c, c, 3, padding=1)
    bottleneck = nn.Sequential(nn.Conv2d(c, mid, 1), nn.Conv2d(mid, mid, 3, padding=1), nn.Conv2d(mid, c, 1))
    separable = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, groups=c), nn.Conv2d(c, c, 1))
    numbers: dict[str, float] = {}
    for label, m in (("plain_3x3", plain), ("bottleneck", bottleneck), ("separable", separable)):
        t = profile(m, (c, hw, hw))
        numbers[f"params_{label}"] = float(t.total.params)
        numbers[f"macs_{label}"] = float(t.total.macs)
    closed = {
        "plain_3x3": conv_params_notes(c, 3, c),
        "bottleneck": conv_params_notes(c, 1, mid) + conv_params_notes(mid, 3, mid) + conv_params_notes(mid, 1, c),
        "separable": conv_params_notes(c, 3, c, groups=c) + conv_params_notes(c, 1, c),
    }
    numbers["max_abs_difference_from_closed_form"] = float(max(abs(numbers[f"params_{k}"] - v)
                                                               for k, v in closed.items()))
    numbers["param_saving_bottleneck"] = numbers["params_plain_3x3"] / numbers["params_bottleneck"]
    numbers["param_saving_separable"] = numbers["params_plain_3x3"] / numbers["params_separable"]
    numbers["mac_saving_bottleneck"] = numbers["macs_plain_3x3"] / numbers["macs_bottleneck"]
    numbers["mac_saving_separable"] = numbers["macs_plain_3x3"] / numbers["macs_separable"]
    fig, ax = figure()
    labels = ["plain_3x3", "bottleneck", "separable"]
    xs = np.arange(3)
    ax.bar(xs - 0.2, [numbers[f"params_{v}"] for v in labels], 0.4, label="parameters")
    ax.bar(xs + 0.2, [numbers[f"macs_{v}"] / hw**2 for v in labels], 0.4, label=f"MACs / {hw}²")
    ax.set_xticks(xs, ["3×3 256→256", "1×1→3×3→1×1 (64)", "depthwise 3×3 + 1×1"], fontsize=7)
    ax.legend()
    return Measurement(numbers, {"savings": fig})


register(Experiment(
    name="bottleneck-separable", topic=TOPIC, section="怎样才能减少卷积层参数两",
    claim_zh="使用分离卷积操作; 添加1*1卷积操作",
    claim_en="Depthwise-separable convolutions and 1×1 bottlenecks cut the parameters (and MACs) of a conv layer.",
    setup="A 3×3 256→256 conv vs the ResNet bottleneck (1×1 to 64, 3×3, 1×1 back) vs depthwise 3×3 + pointwise "
          "1×1, on 28×28;\ncounts from dlprimer.analysis.profile, checked against the notes' closed form.",
    criterion=Criterion((
        Condition("param_saving_bottleneck", ">", 5.0, "bottleneck saves over 5x"),
        Condition("param_saving_separable", ">", 5.0, "separable saves over 5x"),
        Condition("max_abs_difference_from_closed_form", "<", 0.5, "measured counts equal the closed form"),
    )),
    measure=_savings,
))


# ------------------------------------------------------------------------------------- residual vs plain
class _Block(nn.Module):
    def __init__(self, width: int, residual: bool) -> None:
        super().__init__()
        self.residual = residual
        self.f = nn.Sequential(nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(),
                               nn.Linear(width, width), nn.BatchNorm1d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.f(x) if self.residual else self.f(x))


def _residual(seed: int, quick: bool) -> Measurement:
    width = 32
    data = digits(seed, n_train=256 if quick else None)
    steps = 30 if quick else 600
    numbers: dict[str, float] = {}
    fig, axes = figure(ncols=2, width=4.2)
    for layers in (20, 56):
        blocks = (layers - 2) // 2
        for residual in (False, True):
            label = f"{'residual' if residual else 'plain'}_{layers}"
            torch.manual_seed(seed)
            model = nn.Sequential(nn.Linear(64, width), *[_Block(width, residual) for _ in range(blocks)],
                                  nn.Linear(width, 10)).double()
            model.train()
            nn.functional.cross_entropy(model(data.x_train[:128]), data.y_train[:128]).backward()
            norms = [float(b.f[0].weight.grad.norm()) for b in model if isinstance(b, _Block)]
            numbers[f"grad_ratio_first_over_last_{label}"] = norms[0] / norms[-1]
            losses = train(model, data.x_train, data.y_train, steps=steps, batch_size=64, lr=0.05, momentum=0.9,
                           gen=generator(seed))
            numbers[f"train_accuracy_{label}"] = accuracy(model, data.x_train, data.y_train)
            axes[0].semilogy(norms, label=label)
            axes[1].plot(np.nan_to_num(losses, nan=5.0), label=label, lw=0.8)
    for layers in (20, 56):
        numbers[f"accuracy_gain_residual_{layers}"] = (numbers[f"train_accuracy_residual_{layers}"]
                                                       - numbers[f"train_accuracy_plain_{layers}"])
    numbers["plain_accuracy_drop_20_to_56"] = numbers["train_accuracy_plain_20"] - numbers["train_accuracy_plain_56"]
    axes[0].set(xlabel="block", ylabel="‖∂L/∂W‖ at init", title="gradient per block")
    axes[1].set(xlabel="step", ylabel="training loss", title="training")
    axes[0].legend(fontsize=7)
    return Measurement(numbers, {"residual": fig})


register(Experiment(
    name="residual-vs-plain", topic=TOPIC, section="CNN分类网络的演变脉络及各自的贡献与特点",
    claim_zh="短路连接可以有效缓解反向传播时由于深度过深导致的梯度消失现象, 这使得网络加深之后性能不会变差",
    claim_en="Shortcut connections keep gradients flowing through depth, so a deeper network does not get worse.",
    setup="MLP of (Linear-BN-ReLU-Linear-BN) blocks, width 32, 20 and 56 layers, with and without identity "
          "shortcuts, on digits;\nper-block gradient norm at init, then SGD+momentum (quick 30 steps on 256 images, "
          "full 600 on all); training accuracy.",
    criterion=Criterion((
        Condition("accuracy_gain_residual_56", ">", 0.05, "at 56 layers the residual net trains clearly better"),
        Condition("plain_accuracy_drop_20_to_56", ">", 0.0, "the plain net gets worse from 20 to 56 layers"),
    )),
    measure=_residual,
))


# --------------------------------------------------------------------------------------- concat vs add
def _concat_add(seed: int, quick: bool) -> Measurement:
    from dlprimer.analysis.complexity import profile

    del seed, quick
    c, hw = 64, 32
    numbers: dict[str, float] = {}
    for label, c_in in (("add", c), ("concat", 2 * c)):
        t = profile(nn.Conv2d(c_in, c, 3, padding=1), (c_in, hw, hw))
        numbers[f"macs_next_conv_{label}"] = float(t.total.macs)
        numbers[f"params_next_conv_{label}"] = float(t.total.params)
    numbers["mac_ratio_concat_over_add"] = numbers["macs_next_conv_concat"] / numbers["macs_next_conv_add"]
    fig, ax = figure()
    ax.bar(["add → 3×3 conv", "concat → 3×3 conv"], [numbers["macs_next_conv_add"], numbers["macs_next_conv_concat"]])
    ax.set(ylabel="MACs", title=f"fusing two {c}×{hw}×{hw} maps")
    return Measurement(numbers, {"macs": fig})


register(Experiment(
    name="concat-vs-add", topic=TOPIC, section="特征融合concatadd的区别",
    claim_zh="add ... 优点: 计算量少; concat ... 缺点: 计算量大",
    claim_en="Fusing by addition costs less than by concatenation (which doubles the next layer's input).",
    setup="Two 64×32×32 feature maps fused by add (64 channels) or concat (128), followed by a 3×3 conv to 64 "
          "channels;\nMACs and parameters of that conv from dlprimer.analysis.profile.",
    criterion=Criterion((
        Condition("mac_ratio_concat_over_add", ">", 1.5, "concat costs at least 1.5x the MACs"),
    )),
    measure=_concat_add,
))


def _add_sizes(seed: int, quick: bool) -> Measurement:
    del seed, quick
    big = torch.ones(1, 8, 16, 16)
    numbers: dict[str, float] = {}
    for label, small in (("spatial", torch.ones(1, 8, 8, 8)), ("channels", torch.ones(1, 4, 16, 16))):
        try:
            _ = big + small
            possible = 1.0
        except RuntimeError:
            possible = 0.0
        numbers[f"add_possible_different_{label}"] = possible
    # what is done instead: resize first (FPN's nearest-neighbour upsampling), then add
    up = nn.functional.interpolate(torch.ones(1, 8, 8, 8), scale_factor=2, mode="nearest")
    numbers["add_after_upsampling_ok"] = float((big + up).shape == big.shape)
    fig, ax = figure()
    ax.bar(["different H×W", "different C", "after upsampling"],
           [numbers["add_possible_different_spatial"], numbers["add_possible_different_channels"],
            numbers["add_after_upsampling_ok"]])
    ax.set(ylabel="element-wise add possible (1 = yes)", title="adding maps of different sizes")
    return Measurement(numbers, {"add_sizes": fig})


register(Experiment(
    name="add-different-sizes", topic=TOPIC, section="特征融合concatadd的区别",
    claim_zh="尺寸不一致时, 直接相加尺寸小的会被尺寸大的特征淹没, 不应该使用add",
    claim_en="Adding maps of different sizes lets the larger drown the smaller.",
    setup="torch element-wise addition of a 8×16×16 map with a 8×8×8 and with a 4×16×16 map (no broadcasting "
          "applies);\nfor contrast, add after 2× nearest upsampling as FPN does.",
    criterion=Criterion((
        Condition("add_possible_different_spatial", ">", 0.5, "maps of different sizes can be added at all"),
    )),
    measure=_add_sizes,
))


# ------------------------------------------------------------------------------------------------- pooling
def _pool_invariance(seed: int, quick: bool) -> Measurement:
    from scipy import ndimage

    from dlprimer.data.digits import load_digits_arrays

    d = load_digits_arrays(seed=seed, size=32)
    n = 100 if quick else 1000
    x = d.train.images[:n, 0].astype(np.float64)
    x = x - x.min()
    transforms = {
        "translate_1px": lambda im: np.roll(im, 1, axis=-1),
        "rotate_15deg": lambda im: ndimage.rotate(im, 15, axes=(-1, -2), reshape=False, order=1),
        "scale_1.15": lambda im: np.stack([_zoom_centre(i, 1.15) for i in im]),
    }
    pools = {
        "none": lambda t: t,
        "max": lambda t: nn.functional.max_pool2d(t, 2),
        "avg": lambda t: nn.functional.avg_pool2d(t, 2),
    }
    numbers: dict[str, float] = {}
    base = torch.from_numpy(x)[:, None]
    for tname, tf in transforms.items():
        moved = torch.from_numpy(np.ascontiguousarray(tf(x)))[:, None]
        for pname, pool in pools.items():
            a, b = pool(base), pool(moved)
            change = ((a - b).flatten(1).norm(dim=1) / a.flatten(1).norm(dim=1)).mean()
            numbers[f"change_{tname}_{pname}"] = float(change)
        for pname in ("max", "avg"):
            numbers[f"change_ratio_{tname}_{pname}_over_none"] = (numbers[f"change_{tname}_{pname}"]
                                                                  / numbers[f"change_{tname}_none"])
    fig, ax = figure()
    xs = np.arange(3)
    for i, pname in enumerate(pools):
        ax.bar(xs + (i - 1) * 0.27, [numbers[f"change_{t}_{pname}"] for t in transforms], 0.27, label=pname)
    ax.set_xticks(xs, list(transforms))
    ax.set(ylabel="relative change of the map", title="2×2 pooling: invariance to small transforms")
    ax.legend(title="pooling")
    return Measurement(numbers, {"invariance": fig})


def _zoom_centre(im: np.ndarray, factor: float) -> np.ndarray:
    from scipy import ndimage

    h = im.shape[0]
    z = ndimage.zoom(im, factor, order=1)
    off = (z.shape[0] - h) // 2
    return z[off:off + h, off:off + h]


register(Experiment(
    name="pooling-invariance", topic=TOPIC, section="池化层",
    claim_zh="利用max pooling可以引入平移不变性, 旋转不变性和尺度不变性, 从而可以增大感受野",
    claim_en="Max pooling brings translation, rotation and scale invariance.",
    setup="32×32 digits (quick 100, full 1000) shifted 1 px, rotated 15°, zoomed 1.15×; relative change of the map "
          "after 2×2 max / avg\npooling vs without pooling (invariance = the change shrinks a lot).",
    criterion=Criterion((
        Condition("change_ratio_translate_1px_max_over_none", "<", 0.5, "max pooling halves the change under shifts"),
        Condition("change_ratio_rotate_15deg_max_over_none", "<", 0.5, "... under rotation"),
        Condition("change_ratio_scale_1.15_max_over_none", "<", 0.5, "... under scaling"),
    )),
    measure=_pool_invariance,
))


def _pool_linearity(seed: int, quick: bool) -> Measurement:
    from dlprimer.scratch import functional as F

    rng = np.random.default_rng(seed)
    n = 64 if quick else 1024
    a, b = rng.normal(size=(n, 3, 8, 8)), rng.normal(size=(n, 3, 8, 8))
    numbers: dict[str, float] = {}
    for label, pool in (("avg", F.avg_pool2d), ("max", F.max_pool2d)):
        lhs = pool(a + 2.0 * b, 2).data
        rhs = pool(a, 2).data + 2.0 * pool(b, 2).data
        numbers[f"linearity_error_{label}"] = float(np.abs(lhs - rhs).max() / np.abs(lhs).max())
    fig, ax = figure()
    ax.bar(["avg pool", "max pool"], [numbers["linearity_error_avg"] + 1e-17, numbers["linearity_error_max"]])
    ax.set_yscale("log")
    ax.set(ylabel="max |P(a+2b) − P(a) − 2P(b)| / max|P(a+2b)|", title="is pooling linear?")
    return Measurement(numbers, {"linearity": fig})


register(Experiment(
    name="pooling-nonlinearity", topic=TOPIC, section="池化层",
    claim_zh="池化层的作用; 1. 增加非线性",
    claim_en="Pooling adds non-linearity.",
    setup="dlprimer.scratch avg_pool2d and max_pool2d (2×2) on random maps a, b (quick 64, full 1024): the "
          "superposition error\n|P(a + 2b) − P(a) − 2P(b)| (0 = linear).",
    criterion=Criterion((
        Condition("linearity_error_max", ">", 1e-6, "max pooling is non-linear"),
        Condition("linearity_error_avg", ">", 1e-6, "average pooling is non-linear"),
    )),
    measure=_pool_linearity,
))


# ------------------------------------------------------------------------------------- achieved FLOP/s
def _best_time(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def _kernel_flops(seed: int, quick: bool) -> Measurement:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    gen = generator(seed)
    batch, hw, repeats = (4, 28, 3) if quick else (16, 56, 10)
    numbers: dict[str, float] = {"time_on_cuda": float(device.type == "cuda")}

    def flops_per_s(c_in: int, c_out: int, k: int) -> float:
        x = torch.randn(batch, c_in, hw, hw, generator=gen).to(device)
        conv = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False).to(device)
        with torch.no_grad():
            conv(x)  # warm up
            t = _best_time(lambda: conv(x), repeats)
        return 2.0 * batch * hw * hw * c_out * c_in * k * k / t

    with torch.no_grad():
        for k in (1, 3, 5):
            numbers[f"time_gflops_{k}x{k}"] = flops_per_s(64, 64, k) / 1e9
        for c in (63, 64, 65):
            numbers[f"time_gflops_3x3_channels_{c}"] = flops_per_s(c, c, 3) / 1e9
    numbers["time_density_ratio_3x3_over_1x1"] = numbers["time_gflops_3x3"] / numbers["time_gflops_1x1"]
    numbers["time_density_ratio_3x3_over_5x5"] = numbers["time_gflops_3x3"] / numbers["time_gflops_5x5"]
    numbers["time_density_ratio_64_over_neighbours"] = numbers["time_gflops_3x3_channels_64"] / max(
        numbers["time_gflops_3x3_channels_63"], numbers["time_gflops_3x3_channels_65"])
    fig, axes = figure(ncols=2, width=4.0)
    axes[0].bar(["1×1", "3×3", "5×5"], [numbers[f"time_gflops_{k}x{k}"] for k in (1, 3, 5)])
    axes[0].set(ylabel="achieved GFLOP/s", title=f"64→64 conv, {device.type}")
    axes[1].bar(["63", "64", "65"], [numbers[f"time_gflops_3x3_channels_{c}"] for c in (63, 64, 65)], color="C1")
    axes[1].set(title="3×3 conv, channels", xlabel="channels")
    return Measurement(numbers, {"flops": fig})


register(Experiment(
    name="kernel-flops", topic=TOPIC, section="手动设计高效CNN架构的结论和建议",
    claim_zh=r"GPU 芯片上 3×33\times 3 卷积非常快, 其计算密度(理论运算量除以所用时间)"
             r"可达 1×11\times 15×55\times 5 卷积的四倍; "
             "channel数为16的倍数比较有利高效计算",
    claim_en="3×3 convolutions reach up to 4x the computational density of 1×1 and 5×5; channel counts that are "
             "multiples of 16 compute faster.",
    setup="Forward 64→64 convs (1×1, 3×3, 5×5) and 3×3 convs with 63/64/65 channels, best of repeats on this "
          "machine's device\n(CUDA if present, else CPU; quick batch 4 at 28², full 16 at 56²); achieved FLOP/s = "
          "2·MACs / time.",
    criterion=Criterion((
        Condition("time_density_ratio_3x3_over_1x1", ">", 2.0, "3×3 at least twice as dense as 1×1"),
        Condition("time_density_ratio_3x3_over_5x5", ">", 2.0, "and as 5×5"),
        Condition("time_density_ratio_64_over_neighbours", ">", 1.05, "64 channels 5% denser than 63/65"),
    )),
    measure=_kernel_flops,
    timed=True,
))


def _kernel_symmetry(seed: int, quick: bool) -> Measurement:
    from dlprimer.scratch import functional as F

    data = digits(seed, n_train=300 if quick else None)
    torch.manual_seed(seed)
    model = _classifier(_conv_stack([3, 3], 16), 16)
    train(model, data.x_train.reshape(-1, 1, 8, 8), data.y_train, steps=60 if quick else 1500, batch_size=32,
          lr=0.05, momentum=0.9, gen=generator(seed))
    w = model[0][0].weight.detach().numpy()  # [16, 1, 3, 3]
    flipped = w[..., ::-1, ::-1]
    asym = np.linalg.norm((w - flipped).reshape(len(w), -1), axis=1) / np.linalg.norm(w.reshape(len(w), -1), axis=1)
    x = data.x_val[:16].reshape(-1, 1, 8, 8).numpy()
    corr = F.conv2d(x, w).data
    conv = F.convolve2d(x, w).data
    numbers = {
        "median_kernel_asymmetry": float(np.median(asym)),
        "fraction_symmetric_kernels": float((asym < 0.1).mean()),
        "relative_difference_correlation_vs_convolution": float(np.abs(corr - conv).max() / np.abs(corr).max()),
    }
    fig, axes = figure(ncols=2, width=4.0)
    axes[0].hist(asym, bins=10)
    axes[0].set(xlabel="‖k − flip(k)‖ / ‖k‖", title="learned 3×3 kernels")
    axes[1].imshow(np.concatenate([w[i, 0] for i in range(8)], 1), cmap="coolwarm")
    axes[1].set(title="first 8 kernels")
    axes[1].axis("off")
    return Measurement(numbers, {"kernels": fig})


register(Experiment(
    name="kernel-symmetry", topic=TOPIC, section="卷积神经网络中卷积操作和互相关操作的关系",
    claim_zh="但图像处理中大部分的卷积核都是中心对称的, 互相关操作与卷积操作一致",
    claim_en="Most kernels are centrally symmetric, so cross-correlation and convolution agree.",
    setup="Train a 2×(3×3, 16 channels) CNN on 8×8 digits (quick 60 steps, full 1500); asymmetry ‖k − flip(k)‖/‖k‖ "
          "of the first-layer\nkernels and the difference between dlprimer.scratch conv2d (correlation) and "
          "convolve2d (convolution) outputs.",
    criterion=Criterion((
        Condition("fraction_symmetric_kernels", ">", 0.5, "most learned kernels are symmetric (asymmetry < 0.1)"),
        Condition("relative_difference_correlation_vs_convolution", "<", 0.01, "so the two operations agree"),
    )),
    measure=_kernel_symmetry,
))
