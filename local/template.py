"""Reading ``template.yaml``: the single source of truth for the tables, routes and settings used locally.

A CloudFormation-tag-aware YAML loader (``!Ref``, ``!Sub``, ``!GetAtt`` ... become ``{"Ref": ...}`` etc.).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@lru_cache(maxsize=1)
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def resources(resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in load_template()["Resources"].items() if res["Type"] == resource_type}


_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "BillingMode")


def create_tables(dynamodb: Any, names: dict[str, str]) -> None:
    """Create each ``AWS::DynamoDB::Table`` of the template under the physical name ``names[logical_id]``,
    with its keys, indexes and TTL exactly as the template defines them."""
    for logical_id, resource in resources("AWS::DynamoDB::Table").items():
        if logical_id not in names:
            continue
        props = resource["Properties"]
        kwargs = {key: props[key] for key in _TABLE_KEYS if key in props}
        dynamodb.create_table(TableName=names[logical_id], **kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=names[logical_id], TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )


def api_auth() -> dict[str, Any]:
    """The API's ``Auth`` (default authorizer, authorizers, key requirement) and its ``ApiKeySourceType``."""
    (api,) = resources("AWS::Serverless::Api").values()
    return {**api["Properties"].get("Auth", {}), "ApiKeySourceType": api["Properties"].get("ApiKeySourceType", "HEADER")}


def api_routes() -> list[dict[str, Any]]:
    """Every API event of every function: function logical id, handler dir, method, path, whether a key is needed,
    and which authorizer guards it (a Lambda authorizer's name, ``AWS_IAM``, or None)."""
    template = load_template()
    api_props = resources("AWS::Serverless::Api")
    default_key = any(res["Properties"].get("Auth", {}).get("ApiKeyRequired") for res in api_props.values())
    default_authorizer = next((res["Properties"].get("Auth", {}).get("DefaultAuthorizer") for res in api_props.values()), None)
    routes = []
    for name, res in resources("AWS::Serverless::Function").items():
        props = res["Properties"]
        for event in props.get("Events", {}).values():
            if event["Type"] != "Api":
                continue
            ep = event["Properties"]
            key_required = ep.get("Auth", {}).get("ApiKeyRequired", default_key)
            authorizer = ep.get("Auth", {}).get("Authorizer", default_authorizer)
            routes.append(
                {
                    "function": name,
                    "code_uri": props["CodeUri"],
                    "handler": props.get("Handler", template.get("Globals", {}).get("Function", {}).get("Handler")),
                    "method": ep["Method"].upper(),
                    "path": ep["Path"],
                    "api_key_required": bool(key_required),
                    "authorizer": None if authorizer in (None, "NONE") else authorizer,
                }
            )
    return routes
