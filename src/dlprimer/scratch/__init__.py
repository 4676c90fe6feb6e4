"""``dlprimer.scratch``: a from-scratch deep-learning engine in NumPy alone (it never imports torch).

Reverse-mode autograd (:class:`Tensor`, :class:`Function` with hand-derived backward passes), the ops of
the notes under ``torch.nn.functional``'s names (:mod:`~dlprimer.scratch.functional`), modules
(:mod:`~dlprimer.scratch.nn`), initializers, optimizers (SGD, Adam, AdamW with torch's update rules), data
loading and a finite-difference :func:`gradcheck`. Every op is checked against torch in float64.

Example::

    import numpy as np
    from dlprimer.scratch import Tensor, functional as F
    x = Tensor(np.random.randn(2, 3, 8, 8), requires_grad=True)
    w = Tensor(np.random.randn(4, 3, 3, 3), requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()   # x.grad, w.grad
"""

from dlprimer.scratch._random import default_generator, manual_seed
from dlprimer.scratch.autograd import Function, Tensor, as_tensor, cat, is_grad_enabled, no_grad
from dlprimer.scratch.gradcheck import GradcheckError, gradcheck

__all__ = [
    "Function", "GradcheckError", "Tensor", "as_tensor", "cat", "default_generator", "gradcheck",
    "is_grad_enabled", "manual_seed", "no_grad",
]
