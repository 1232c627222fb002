"""A cold start's imports without the garbage collector.

Importing a function builds a few hundred thousand objects that live as long as the process: modules, classes,
pydantic's validators, botocore's service models. The collector, triggered by allocation counts, walks them
all several times during the import and frees nothing: ~70-80 ms of a ~500 ms webhook import on the
development machine (docs/performance.md). Each function calls ``pause_collector()`` before its imports and
``settle()`` after them; ``settle`` freezes the survivors out of every later collection (``gc.freeze``), so
warm invocations do not walk them either. Garbage made after that is collected as usual.
"""

import gc


def pause_collector() -> None:
    gc.disable()


def settle() -> None:
    gc.freeze()
    gc.enable()
