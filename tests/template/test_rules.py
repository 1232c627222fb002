"""Every rule of ``rules.py`` holds for ``template.yaml`` as CloudFormation will see it (translated offline)."""

from __future__ import annotations

import pytest

from tests.template.cfn import translated_template
from tests.template.rules import RULES, run


@pytest.mark.parametrize("name", sorted(RULES))
def test_template_keeps_the_rule(name: str) -> None:
    problems = run(name, translated_template())
    assert not problems, f"{name}: {RULES[name].description}\n" + "\n".join(problems)


def test_every_rule_is_shown_to_fail_on_a_broken_template() -> None:
    from tests.template.test_rules_catch_breakage import BREAKAGES

    assert sorted(RULES) == sorted({rule for rule, _mutation, _why in BREAKAGES})
