"""Schedules against their closed forms (written out here) and against torch.optim.lr_scheduler."""

from __future__ import annotations

import math

import pytest
import torch

from dlprimer import schedules as S

STEPS = 120


def torch_lrs(make_scheduler, steps: int = STEPS, base_lr: float = 0.1, momentum: float = 0.0) -> list[float]:
    """The lr each of ``steps`` batches sees under a torch scheduler stepped once per batch."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr, momentum=momentum)
    sched = make_scheduler(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def ours(schedule, steps: int = STEPS) -> list[float]:
    return [schedule(t) for t in range(steps)]


def assert_close(a: list[float], b: list[float], rel: float = 1e-12, abs_: float = 1e-15) -> None:
    assert len(a) == len(b)
    for t, (x, y) in enumerate(zip(a, b, strict=True)):
        assert math.isclose(x, y, rel_tol=rel, abs_tol=abs_), f"step {t}: ours {x!r} vs theirs {y!r}"


# ------------------------------------------------------------------------- closed forms at every step
@pytest.mark.parametrize("step_size,gamma", [(7, 0.5), (1, 0.9), (50, 0.1)])
def test_step_closed_form(step_size, gamma):
    s = S.StepDecay(0.3, step_size, gamma)
    assert_close(ours(s), [0.3 * gamma ** (t // step_size) for t in range(STEPS)])


def test_multistep_closed_form():
    s = S.MultiStepDecay(0.2, (10, 10, 55, 80), 0.5)
    expect = [0.2 * 0.5 ** sum(m <= t for m in (10, 10, 55, 80)) for t in range(STEPS)]
    assert_close(ours(s), expect)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_and_natural_exp_closed_form(staircase):
    e = S.ExponentialDecay(0.1, 0.96, decay_steps=10, staircase=staircase)
    n = S.NaturalExpDecay(0.1, 0.3, decay_steps=10, staircase=staircase)
    p = [(t // 10) if staircase else t / 10 for t in range(STEPS)]
    assert_close(ours(e), [0.1 * 0.96**q for q in p])
    assert_close(ours(n), [0.1 * math.exp(-0.3 * q) for q in p])


def test_polynomial_closed_form_with_end_lr():
    s = S.PolynomialDecay(0.1, 100, power=2.0, end_lr=0.001)
    expect = [(0.1 - 0.001) * (1 - min(t, 100) / 100) ** 2 + 0.001 for t in range(STEPS)]
    assert_close(ours(s), expect)
    assert s(100) == pytest.approx(0.001) and s(500) == pytest.approx(0.001)


def test_cosine_closed_form_with_floor():
    s = S.CosineDecay(0.1, 100, min_lr=0.002)
    expect = [0.002 + 0.098 * 0.5 * (1 + math.cos(math.pi * min(t, 100) / 100)) for t in range(STEPS)]
    assert_close(ours(s), expect)
    assert s(0) == pytest.approx(0.1) and s(50) == pytest.approx(0.051) and s(100) == pytest.approx(0.002)


def test_cyclic_triangular_hand_values():
    s = S.Cyclic(0.01, 0.11, step_size_up=5, step_size_down=5)
    # up 0.01 → 0.11 over 5 steps (0.02 per step), down again, repeat
    hand = [0.01, 0.03, 0.05, 0.07, 0.09, 0.11, 0.09, 0.07, 0.05, 0.03, 0.01, 0.03]
    assert_close(ours(s, len(hand)), hand, rel=1e-12, abs_=1e-15)


def test_triangular2_halves_each_cycle():
    s = S.Cyclic(0.0 + 1e-3, 0.1 + 1e-3, step_size_up=4, mode="triangular2")
    peaks = [s(4 + 8 * c) - 1e-3 for c in range(4)]
    assert_close(peaks, [0.1, 0.05, 0.025, 0.0125], rel=1e-12)


def test_linear_warmup_closed_form_and_first_batch():
    main = S.CosineDecay(0.1, 90)
    w = S.Warmup(main, 10, start_factor=0.25)
    expect = [0.1 * (0.25 + 0.75 * t / 10) for t in range(10)] + [main(t) for t in range(STEPS - 10)]
    assert_close(ours(w), expect)
    assert w(0) == pytest.approx(0.025)  # what the very first batch sees


def test_exponential_warmup_closed_form():
    main = S.Constant(0.2)
    w = S.Warmup(main, 8, start_factor=0.01, mode="exponential")
    assert_close(ours(w, 20), [0.2 * 0.01 ** (1 - t / 8) for t in range(8)] + [0.2] * 12)


def test_onecycle_hand_values():
    s = S.OneCycle(1.0, 11, pct_start=0.5, div_factor=10.0, final_div_factor=100.0, anneal="linear")
    # peak at step 0.5*11-1 = 4.5: 0.1 → 1.0 linearly over 4.5 steps, then to 0.001 at step 10
    assert s(0) == pytest.approx(0.1)
    assert s(3) == pytest.approx(0.1 + 0.9 * 3 / 4.5)
    assert s(10) == pytest.approx(0.001)
    assert s(7) == pytest.approx(1.0 + (0.001 - 1.0) * (7 - 4.5) / 5.5)


# ------------------------------------------------------------------------------- against torch schedulers
def test_against_torch_steplr():
    assert_close(ours(S.StepDecay(0.1, 13, 0.7)),
                 torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, 13, 0.7)))


def test_against_torch_multisteplr():
    assert_close(ours(S.MultiStepDecay(0.1, (5, 30, 31, 90), 0.3)),
                 torch_lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [5, 30, 31, 90], 0.3)))


def test_against_torch_exponentiallr():
    assert_close(ours(S.ExponentialDecay(0.1, 0.97)),
                 torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.97)), rel=1e-10)


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_against_torch_polynomiallr(power):
    assert_close(ours(S.PolynomialDecay(0.1, 100, power=power)),
                 torch_lrs(lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=100, power=power)),
                 rel=1e-9, abs_=1e-15)


def test_against_torch_cosineannealinglr():
    # torch computes this recursively; compare over one half period (t ≤ T) with a small tolerance
    assert_close(ours(S.CosineDecay(0.1, 100, min_lr=0.001), 101),
                 torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=0.001), 101),
                 rel=1e-9, abs_=1e-14)


@pytest.mark.parametrize("mode,gamma", [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.99)])
def test_against_torch_cycliclr(mode, gamma):
    ours_ = S.Cyclic(0.01, 0.1, step_size_up=7, step_size_down=11, mode=mode, gamma=gamma)
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=7, step_size_down=11, mode=mode, gamma=gamma,
        cycle_momentum=False))
    assert_close(ours(ours_), theirs, rel=1e-12)


@pytest.mark.parametrize("anneal,pct", [("cos", 0.3), ("linear", 0.25), ("cos", 0.45)])
def test_against_torch_onecyclelr(anneal, pct):
    ours_ = S.OneCycle(0.5, STEPS, pct_start=pct, anneal=anneal)
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.5, total_steps=STEPS, pct_start=pct, anneal_strategy=anneal, cycle_momentum=False))
    assert_close(ours(ours_), theirs, rel=1e-12)


def test_warmup_against_torch_sequentiallr():
    main = S.StepDecay(0.1, 20, 0.5)
    ours_ = S.Warmup(main, 15, start_factor=0.2)

    def make(o):
        lin = torch.optim.lr_scheduler.LinearLR(o, start_factor=0.2, end_factor=1.0, total_iters=15)
        step = torch.optim.lr_scheduler.StepLR(o, 20, 0.5)
        return torch.optim.lr_scheduler.SequentialLR(o, [lin, step], milestones=[15])

    assert_close(ours(ours_), torch_lrs(make), rel=1e-12)


# ---------------------------------------------------------------------------------- adapter and registry
def test_adapter_drives_torch_optimizer_with_group_ratios():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.01}], lr=0.1)
    sched = S.build_schedule("cosine", 0.1, 50, warmup_steps=5)
    adapter = S.ScheduleAdapter(opt, sched)
    for t in range(50):
        assert opt.param_groups[0]["lr"] == pytest.approx(sched(t), rel=1e-12)
        assert opt.param_groups[1]["lr"] == pytest.approx(sched(t) / 10, rel=1e-12)
        opt.step()
        adapter.step()
    restored = S.ScheduleAdapter(opt, sched)
    restored.load_state_dict({"last_step": 17})
    assert restored.get_last_lr()[0] == pytest.approx(sched(17), rel=1e-12)


@pytest.mark.parametrize("name", S.list_schedules())
def test_every_registered_schedule_is_positive_and_finite(name):
    s = S.build_schedule(name, 0.1, 200, warmup_steps=10)
    lrs = ours(s, 200)
    assert all(math.isfinite(x) and x >= 0 for x in lrs), name
    main = S.build_schedule(name, 0.1, 190)  # the warmup shifts the main schedule by 10 steps
    assert s(0) == pytest.approx(0.1 * main(0), rel=1e-12)  # the first batch: start_factor × main(0)
    assert [s(t) for t in range(10, 200)] == [main(t) for t in range(190)]


def test_unknown_schedule_lists_known_names():
    with pytest.raises(ValueError, match="unknown schedule 'nope'.*cosine"):
        S.build_schedule("nope", 0.1, 10)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: S.StepDecay(-0.1, 3), "base_lr"),
        (lambda: S.StepDecay(0.1, 0), "step_size"),
        (lambda: S.MultiStepDecay(0.1, (5, 3)), "milestones"),
        (lambda: S.CosineDecay(0.1, 10, min_lr=-1.0), "min_lr"),
        (lambda: S.Cyclic(0.1, 0.2, 3, mode="sawtooth"), "mode"),
        (lambda: S.OneCycle(0.1, 10, pct_start=1.5), "pct_start"),
        (lambda: S.Warmup(S.Constant(0.1), 0), "warmup_steps"),
        (lambda: S.build_schedule("cosine", 0.0, 10), "base_lr"),
        (lambda: S.build_schedule("cosine", 0.1, 10, warmup_steps=10), "warmup_steps"),
        (lambda: S.build_schedule("cosine", 0.1, 10, gamma=3), "bad options"),
        (lambda: S.Constant(0.1)(-1), "step"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_plot_writes_png(tmp_path):
    out = tmp_path / "s.png"
    S.plot_schedules(["cosine", "step"], str(out), total_steps=50, warmup_steps=5)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
