"""The layer's Makefile deletes packages and parts of packages nothing imports (NOT_IMPORTED, UNUSED_PARTS): this
loads every function and the modules they import on first use, and checks none of the deleted ones is loaded."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

from tests.support.lambda_runtime import load_function

MAKEFILE = Path(__file__).parents[2] / "layers" / "payment_links" / "Makefile"
# Imported on first use by the functions (a queue event, a preview, a message, a reissue, the order events).
LAZY = (
    "aws_lambda_powertools.utilities.batch",
    "payment_links.flows.preview",
    "payment_links.messages.render",
    "payment_links.flows.reissue",
    "payment_links.flows.order_events",
    "payment_links.notify.mime",
)


def _deleted_modules() -> list[str]:
    text = MAKEFILE.read_text().replace("\\\n", " ")
    names: list[str] = []
    for variable in ("NOT_IMPORTED", "UNUSED_PARTS"):
        for line in re.findall(rf"^{variable}\s*\+?:?=\s*(.*)$", text, re.MULTILINE):
            names += [word for word in line.split() if not word.endswith(("-*", ".js", ".css"))]
    return [name.replace("/", ".") for name in names]


def test_no_function_loads_what_the_layer_build_deletes(aws):
    for name in ("create", "resend", "webhook", "sites", "authorizer", "delivery_events"):
        load_function(name)
    for module in LAZY:
        importlib.import_module(module)
    deleted = _deleted_modules()
    assert "pydantic.v1" in deleted and "dns" in deleted  # the Makefile was read
    loaded = [m for m in sys.modules if any(m == d or m.startswith(d + ".") for d in deleted)]
    assert loaded == []
