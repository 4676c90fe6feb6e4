"""Learning-rate schedules (the notes' 学习率衰减方法, warmup and cyclical rates) as pure functions.

Every schedule is a frozen dataclass ``s`` whose call ``s(step) -> lr`` is a pure function of the
optimizer-step index ``step = 0, 1, 2, …`` (no hidden state): the *k*-th optimizer update uses ``s(k)``.

Who calls what and when
-----------------------
dlprimer steps schedules **per batch** (per optimizer update). The engine builds the schedule with
``total_steps = epochs × batches_per_epoch``, wraps the optimizer in :class:`ScheduleAdapter` (which
immediately sets ``lr = s(0)``, so **the very first batch sees** ``s(0)``), and after every
``optimizer.step()`` calls ``adapter.step()``, which sets ``lr = s(k + 1)`` for the next batch. To step
per epoch instead, pass epochs as steps (``total_steps = epochs``) and call ``adapter.step()`` once an
epoch. This is the order of ``torch.optim.lr_scheduler``: construct before the first batch, step after
``optimizer.step()``.

Warmup is composed, not built in: ``Warmup(main, warmup_steps=W)`` runs ``W`` warmup steps, then ``main``
*from its own step 0* (``main`` is shifted by ``W``; give it ``total_steps − W``). During warmup the rate
rises from ``start_factor · main(0)`` towards ``main(0)``: linearly,
``main(0) · (f + (1 − f) · t / W)``, as ``torch.optim.lr_scheduler.SequentialLR([LinearLR(f, total_iters=W),
main], milestones=[W])``; or exponentially, ``main(0) · f^(1 − t/W)``.

The closed forms (``η₀`` = ``base_lr``, ``t`` = step, ``T`` = ``total_steps``):

=================  ===========================================================  ==========================
schedule           lr(t)                                                        torch equivalent
=================  ===========================================================  ==========================
constant           η₀                                                           ConstantLR(factor=1)
step (分段常数)     η₀ · γ^⌊t / s⌋                                               StepLR
multistep          η₀ · γ^(number of milestones ≤ t)                            MultiStepLR
exponential (指数)  η₀ · γ^(t / d)  (⌊t / d⌋ with staircase)                      ExponentialLR (d = 1)
natural_exp        η₀ · e^(−k · t / d)  (⌊t / d⌋ with staircase)                 —
polynomial (多项式) (η₀ − η_end) · (1 − min(t, T) / T)^p + η_end                 PolynomialLR (η_end = 0)
cosine (余弦)       η_min + (η₀ − η_min) · (1 + cos(π · min(t, T) / T)) / 2      CosineAnnealingLR (t ≤ T)
cyclic             triangular / triangular2 / exp_range (Smith, 2017)           CyclicLR
onecycle           cos or linear, initial η_max/div → η_max → initial/final_div  OneCycleLR
=================  ===========================================================  ==========================

Sources: the notes (学习率衰减方法: 分段常数/指数/自然指数/多项式/余弦衰减), TensorFlow's
``tf.compat.v1.train.*_decay`` (the staircase and ``decay_steps`` conventions), L. N. Smith, "Cyclical
Learning Rates for Training Neural Networks" (2017) and "Super-Convergence" (2018) for one-cycle.

Modules: :mod:`.closed_forms` (the schedules), :mod:`.warmup`, :mod:`.registry` (:data:`SCHEDULES`,
:func:`build_schedule`), :mod:`.adapter` (:class:`ScheduleAdapter` for torch optimizers), :mod:`.plot`.
"""

from dlprimer.schedules.adapter import ScheduleAdapter
from dlprimer.schedules.closed_forms import (
    Constant,
    CosineDecay,
    Cyclic,
    ExponentialDecay,
    MultiStepDecay,
    NaturalExpDecay,
    OneCycle,
    PolynomialDecay,
    Schedule,
    StepDecay,
)
from dlprimer.schedules.plot import plot_schedules
from dlprimer.schedules.registry import SCHEDULES, build_schedule, list_schedules
from dlprimer.schedules.warmup import Warmup

__all__ = [
    "SCHEDULES",
    "Constant",
    "CosineDecay",
    "Cyclic",
    "ExponentialDecay",
    "MultiStepDecay",
    "NaturalExpDecay",
    "OneCycle",
    "PolynomialDecay",
    "Schedule",
    "ScheduleAdapter",
    "StepDecay",
    "Warmup",
    "build_schedule",
    "list_schedules",
    "plot_schedules",
]
