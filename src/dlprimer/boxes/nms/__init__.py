"""Non-maximum suppression (notes: "NMS算法介绍") as one package.

* :mod:`.vectorized`: :func:`nms` and :func:`batched_nms`, torchvision's kept sets with vectorized fast paths
  (the private :mod:`._push`, :mod:`._sparse` and :mod:`._classes` strategies);
* :mod:`.reference`: the notes' plain greedy NMS, readable in a minute, used as an oracle in the tests next
  to torchvision.
"""

from dlprimer.boxes.nms.reference import reference_batched_nms, reference_nms
from dlprimer.boxes.nms.vectorized import batched_nms, nms

__all__ = ["batched_nms", "nms", "reference_batched_nms", "reference_nms"]
