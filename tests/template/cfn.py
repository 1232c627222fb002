"""The template as CloudFormation sees it: ``template.yaml`` loaded, then expanded by aws-sam-translator offline.

Also the small vocabulary the rules use to read CloudFormation: resources by type, the logical id a ``Ref`` or
``GetAtt`` points at, and ``render`` to compare intrinsic-function values as text.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (``!Ref``, ``!Sub``, ...) as their long JSON forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@lru_cache(maxsize=1)
def _template_text() -> str:
    return TEMPLATE.read_text()


def load_sam_template() -> dict[str, Any]:
    """A fresh copy of ``template.yaml`` (tests may change it)."""
    return yaml.load(_template_text(), Loader=_CfnLoader)  # a SafeLoader subclass


class _NoManagedPolicyNames:
    """The translator asks IAM for managed policy ARNs by name only when a template uses bare names; ours does not."""

    def load(self) -> dict[str, str]:
        return {}


def translate(sam_template: dict[str, Any], code_locations: dict[str, str] | None = None) -> dict[str, Any]:
    """Expand the SAM template into plain CloudFormation, as ``sam deploy`` would, without any network call.

    Local ``CodeUri``/``ContentUri`` paths become S3 URIs (``code_locations`` by logical id, else a placeholder),
    as ``sam package`` does after uploading the built code.
    """
    sam = copy.deepcopy(sam_template)
    for logical_id, resource in sam["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = (code_locations or {}).get(logical_id, f"s3://artifacts/{logical_id}.zip")
    return transform(sam, {}, _NoManagedPolicyNames())  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def _translated_text() -> str:
    return json.dumps(translate(load_sam_template()))


def translated_template() -> dict[str, Any]:
    """A fresh copy of the translated ``template.yaml``."""
    return json.loads(_translated_text())


# ---- reading CloudFormation ---------------------------------------------------------------------------------


def resources(cfn: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in cfn["Resources"].items() if res["Type"] == resource_type}


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties", {})


def target(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``GetAtt`` points at (None for anything else)."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if "Fn::GetAtt" in value:
            getatt = value["Fn::GetAtt"]
            return getatt[0] if isinstance(getatt, list) else str(getatt).split(".", 1)[0]
    return None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render(value: Any) -> str:
    """An intrinsic-function value as comparable text: ``Ref X`` is ``${X}``, ``GetAtt X.A`` is ``${X.A}``, ``Sub`` is
    its string with the variable map filled in, ``If`` is ``{if C: a else b}``, ``Select/Split`` spelled out."""
    if isinstance(value, (str, int, float, bool)):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, dict) and len(value) == 1:
        ((name, arg),) = value.items()
        if name == "Ref":
            return f"${{{arg}}}"
        if name == "Fn::GetAtt":
            return "${" + ".".join(as_list(arg)) + "}"
        if name == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            for key, val in variables.items():
                text = text.replace(f"${{{key}}}", render(val))
            return text
        if name == "Fn::If":
            return f"{{if {arg[0]}: {render(arg[1])} else {render(arg[2])}}}"
        if name == "Fn::Select":
            return f"{render(arg[1])}[{arg[0]}]"
        if name == "Fn::Split":
            return f"split({render(arg[1])}, {arg[0]!r})"
        if name == "Fn::Join":
            return arg[0].join(render(part) for part in arg[1])
    if isinstance(value, list):
        return "[" + ", ".join(render(item) for item in value) + "]"
    return json.dumps(value, sort_keys=True)


def references(value: Any) -> set[str]:
    """Every logical id or parameter a value refers to (``Ref``, ``GetAtt``, ``${...}`` in ``Sub``)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(as_list(arg)[0] if isinstance(arg, list) else str(arg).split(".", 1)[0])
            elif key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                found |= {name.split(".", 1)[0] for name in _sub_names(text)} - set(variables)
                found |= references(variables)
            else:
                found |= references(arg)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def _sub_names(text: str) -> list[str]:
    names, start = [], 0
    while (start := text.find("${", start)) != -1:
        end = text.find("}", start)
        if text[start + 2 : start + 3] != "!":  # ${!Literal} is an escaped literal, not a reference
            names.append(text[start + 2 : end])
        start = end + 1
    return names
