"""Named crash points for testing: ``DLPRIMER_CRASH_AT=<point>[:<k>]`` makes the process exit abruptly
(``os._exit``, no cleanup, as ``kill -9`` would) the ``k``-th time (default the first) it reaches ``<point>``.

Inert unless the variable is set. Tests use it to hit every window of the run-folder lifecycle
deterministically, as database crash tests do; :data:`CRASH_POINTS` lists the points in the order a run
reaches them:

``after-claim``             the run folder exists with its marker and ``config.json``, nothing else;
``after-config``            the run has started (engine built), before the first epoch;
``after-metrics-append``    an epoch's row is in ``metrics.jsonl`` but its checkpoint is not written yet;
``during-checkpoint-write`` the new checkpoint is complete in its temporary file, not yet moved into place;
``after-checkpoint``        the epoch's checkpoint is in place;
``before-summary``          all epochs done, ``summary.json`` not written;
``during-resume``           ``--resume`` has read the checkpoint and rewritten ``metrics.jsonl``.
"""

from __future__ import annotations

import os

ENV = "DLPRIMER_CRASH_AT"
EXIT_STATUS = 137  # what a shell reports for SIGKILL
CRASH_POINTS = ("after-claim", "after-config", "after-metrics-append", "during-checkpoint-write",
                "after-checkpoint", "before-summary", "during-resume")
_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Exit the process at once if ``DLPRIMER_CRASH_AT`` names ``name`` (and this is its ``k``-th hit)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    point, _, count = spec.partition(":")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= (int(count) if count.isdigit() else 1):
        os._exit(EXIT_STATUS)
