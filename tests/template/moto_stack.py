"""Deploying the translated template into moto's CloudFormation: the built code, and what moto cannot create.

moto's CloudFormation creates most of our resource types for real (tables, functions, layer, roles, rules, bus,
queues, topic, log groups, dashboard, SSM parameter). The types below it cannot create are taken out before
``create_stack``, each with the reason and the rule that checks it on the translated template instead; references
to them become placeholders so the rest still deploys.
"""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from tests.template.cfn import ROOT, as_list, load_sam_template, props, target, translate

# Resource type -> why moto's CloudFormation cannot create it, and where it is checked instead.
NOT_CREATABLE_BY_MOTO = {
    "AWS::CloudWatch::Alarm": "no CloudFormation model in moto; the *-ALARMS rules",
    "AWS::SecretsManager::Secret": "no CloudFormation model in moto; test_generated_secrets_are_generated_by_secrets_manager",
    "AWS::ApiGateway::Deployment": "moto's RestApi ignores the OpenAPI Body, so it has no methods to deploy; rule API-KEYS reads the Body",
    "AWS::ApiGateway::Stage": "no CloudFormation model in moto; rules TRACING and API-KEYS, test_access_logs_and_stage_throttling",
    "AWS::ApiGateway::ApiKey": "no CloudFormation model in moto; rule API-KEYS",
    "AWS::ApiGateway::UsagePlan": "no CloudFormation model in moto; rule API-KEYS",
    "AWS::ApiGateway::UsagePlanKey": "no CloudFormation model in moto; rule API-KEYS",
    "AWS::ApiGateway::Account": "no CloudFormation model in moto; test_access_logs_and_stage_throttling",
    "AWS::CloudFormation::WaitConditionHandle": "no CloudFormation model in moto; it only orders the API after the account setting",
    "AWS::Lambda::Alias": "no CloudFormation model in moto; test_webhook_is_served_by_its_snapstart_alias",
    "AWS::Lambda::EventInvokeConfig": "no CloudFormation model in moto; rule ASYNC-FAILURES-KEPT",
    "AWS::SQS::QueuePolicy": "no CloudFormation model in moto; rule ASYNC-FAILURES-KEPT checks each policy's aws:SourceArn",
    "AWS::SNS::Subscription": "no CloudFormation model in moto; rule ALARMS-NOTIFY",
    "AWS::SES::ConfigurationSet": "no CloudFormation model in moto; test_delivery_feedback.py",
    "AWS::SES::ConfigurationSetEventDestination": "no CloudFormation model in moto; test_delivery_feedback.py",
    "AWS::Logs::SubscriptionFilter": "no CloudFormation model in moto; test_delivery_feedback.py",
}

BUCKET = "payment-links-artifacts"
STACK_NAME = "shop-payments"
REGION = "us-east-1"
# What a merchant types at `sam deploy --guided` (everything else keeps its default).
MERCHANT_PARAMETERS = {
    "WixSiteId": "0f1e2d3c-site",
    "WixCredentialsSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment-links/wix-AbCdEf",
    "WixWebhookPublicKeySecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment-links/wix-webhook-AbCdEf",
    "SenderEmail": "payments@shop.example",
    "StoreName": "Example Shop",
    "AlarmEmail": "ops@shop.example",
    # Not a default: deployed so the SMS delivery-log subscription's resources are created too.
    "SmsDeliveryStatusLogs": "CREATE",
}


def build_artifacts(work_dir: Path) -> dict[str, bytes]:
    """Logical id -> zip of what ``sam build`` puts in that artifact.

    Each function is built by its own Makefile target, exactly as ``sam build`` runs it. The layer is its own
    package under ``python/``; its third-party wheels are left out (fetching them needs the network, and moto never
    runs the code).
    """
    artifacts = {}
    for logical_id, resource in load_sam_template()["Resources"].items():
        code = resource.get("Properties", {}).get("CodeUri") or resource.get("Properties", {}).get("ContentUri")
        if not isinstance(code, str) or code.startswith("s3://"):
            continue
        out = work_dir / logical_id
        if resource["Type"] == "AWS::Serverless::Function":
            out.mkdir(parents=True)
            subprocess.run(
                ["make", "--no-print-directory", "-C", str(ROOT / code), f"build-{logical_id}", f"ARTIFACTS_DIR={out}"],
                check=True,
                capture_output=True,
            )
        else:
            package = ROOT / code / "payment_links"
            for path in package.rglob("*.py"):
                dest = out / "python" / "payment_links" / path.relative_to(package)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(path.read_bytes())
        artifacts[logical_id] = _zip(out)
    return artifacts


def _zip(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def template_for_moto(artifact_keys: dict[str, str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The translated template, code in S3, without what moto cannot create; also what was taken out."""
    cfn = translate(load_sam_template(), {name: f"s3://{BUCKET}/{key}" for name, key in artifact_keys.items()})
    removed = {name: res for name, res in cfn["Resources"].items() if res["Type"] in NOT_CREATABLE_BY_MOTO}
    for name in removed:
        del cfn["Resources"][name]
    # A reference to the webhook's alias becomes one to the function it aliases (what moto can invoke).
    stand_ins = {name: props(res)["FunctionName"] for name, res in removed.items() if res["Type"] == "AWS::Lambda::Alias"}
    cfn = _without_references(cfn, set(removed), {name: target(fn) for name, fn in stand_ins.items()})
    for resource in cfn["Resources"].values():
        depends = [d for d in as_list(resource.get("DependsOn", [])) if d not in removed]
        resource.pop("DependsOn", None)
        if depends:
            resource["DependsOn"] = depends
    cfn["Outputs"] = {name: out for name, out in cfn.get("Outputs", {}).items() if not _refers_to(out, set(removed))}
    return cfn, removed


def _without_references(value: Any, removed: set[str], stand_ins: dict[str, str | None]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "Ref" in value:
            if stand_ins.get(value["Ref"]):
                return {"Fn::GetAtt": [stand_ins[value["Ref"]], "Arn"]}
            if value["Ref"] in removed:
                return f"not-created-by-moto-{value['Ref']}"
            if value["Ref"] == "EventBus":
                # moto's EventBus has no physical id, so its Ref is the Python object: read its Name instead.
                return {"Fn::GetAtt": ["EventBus", "Name"]}
        if len(value) == 1 and "Fn::GetAtt" in value and as_list(value["Fn::GetAtt"])[0] in removed:
            return f"arn:aws:not-created-by-moto:{REGION}:123456789012:{as_list(value['Fn::GetAtt'])[0]}"
        if len(value) == 1 and "Fn::Sub" in value:
            arg = value["Fn::Sub"]
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            for name, function in stand_ins.items():
                text = text.replace("${" + name + "}", "${" + f"{function}.Arn" + "}")
            for name in removed:
                text = text.replace("${" + name + ".Arn}", f"arn:aws:not-created-by-moto:{name}").replace("${" + name + "}", name)
            variables = _without_references(variables, removed, stand_ins)
            return {"Fn::Sub": [text, variables] if variables else text}
        return {key: _without_references(item, removed, stand_ins) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_references(item, removed, stand_ins) for item in value]
    return value


def _refers_to(value: Any, removed: set[str]) -> bool:
    return any(f"not-created-by-moto-{name}" in json.dumps(value) or f"not-created-by-moto:{name}" in json.dumps(value) for name in removed)
