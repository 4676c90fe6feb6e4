"""dlprimer: the fundamentals of deep learning and object detection as working, verified, fast code.

Sub-packages (``docs/concepts.md`` maps the notes to the code; ``docs/layout.md`` shows the layout and style):

- :mod:`dlprimer.scratch`   NumPy-only engine with hand-written backward passes.
- :mod:`dlprimer.nn`        torch layers, losses and initialization schemes.
- :mod:`dlprimer.boxes`     detection geometry: IoU family, NMS, ROI ops, anchors, assignment.
- :mod:`dlprimer.metrics`   classification metrics, AP rules and a COCO evaluator (NumPy).
- :mod:`dlprimer.schedules` learning-rate schedules as pure functions of the step.
- :mod:`dlprimer.augment`   box-aware data augmentation.
- :mod:`dlprimer.models`    model zoo behind a registry.
- :mod:`dlprimer.analysis`  output sizes, receptive fields, complexity, speed.
- :mod:`dlprimer.data`      embedded datasets (scikit-learn's digits).
- :mod:`dlprimer.train`     the training engine (and :mod:`dlprimer.train.export`: ONNX / TorchScript).
- :mod:`dlprimer.cli`       the ``dlprimer`` command line (``dlprimer --help``).
- :mod:`dlprimer.experiments` the notes' claims as experiments with measured verdicts (``docs/errata.md``).
"""

__version__ = "0.1.0"
