"""The local deployment of ``template.yaml``: parameter values, physical names and the functions' environment.

CloudFormation resolves ``!Ref``/``!Sub``/``!GetAtt`` at deploy time; locally ``Deployment`` does the same with
local parameter values (``LOCAL_PARAMETERS``, overridable from the command line) and local physical names, so
the functions run with exactly the environment variables the template gives them, pointed at moto and the
Wix sandbox. Only what the template uses is supported; anything else raises ``UnresolvableValue``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from local.template import load_template, resources

logger = logging.getLogger("local.environment")
ACCOUNT_ID = "123456789012"  # moto's default account
# Parameters a merchant fills in at `sam deploy --guided`; locally they name moto's secrets and the sandbox.
LOCAL_PARAMETERS = {
    "WixSiteId": "local-site",
    "WixCredentialsSecretArn": "local/wix-credentials",
    "WixWebhookPublicKeySecretArn": "local/wix-webhook-public-key",
    "SenderEmail": "payments@example.com",
    "StoreName": "Local Demo Store",
    "TableDeletionProtection": "false",
}
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


class UnresolvableValue(ValueError):
    """A template value uses an intrinsic function or reference the local deployment cannot resolve."""


@dataclass(frozen=True)
class Schedule:
    """One ``Type: Schedule`` event of a function: what EventBridge would invoke, and how often."""

    function: str
    event: str
    expression: str

    @property
    def rate_seconds(self) -> float:
        return rate_seconds(self.expression)


@dataclass
class Deployment:
    stack_name: str = "local"
    region: str = "us-east-1"
    parameters: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)

    # -- intrinsic functions -------------------------------------------------------------------------------------

    def resolve(self, value: Any) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (str, int, float)):
            return str(value)
        if isinstance(value, dict) and len(value) == 1:
            ((name, arg),) = value.items()
            if name == "Ref":
                return self._ref(arg)
            if name == "Fn::Sub":
                return self._sub(arg)
            if name == "Fn::GetAtt":
                return self._ref(".".join(arg))
            if name == "Fn::If":
                chosen = arg[1] if self.condition(arg[0]) else arg[2]
                if chosen == {"Ref": "AWS::NoValue"}:
                    raise UnresolvableValue("AWS::NoValue")
                return self.resolve(chosen)
        raise UnresolvableValue(f"cannot resolve {value!r} locally")

    def condition(self, name: str) -> bool:
        """A template condition (``Conditions``), evaluated with this deployment's parameters."""
        return self._truth(load_template().get("Conditions", {})[name])

    def _truth(self, expression: Any) -> bool:
        ((name, arg),) = expression.items()
        if name == "Condition":
            return self.condition(arg)
        if name == "Fn::Equals":
            return self.resolve(arg[0]) == self.resolve(arg[1])
        if name == "Fn::Not":
            return not self._truth(arg[0])
        if name == "Fn::And":
            return all(self._truth(part) for part in arg)
        if name == "Fn::Or":
            return any(self._truth(part) for part in arg)
        raise UnresolvableValue(f"cannot evaluate the condition {expression!r} locally")

    def exists(self, logical_id: str) -> bool:
        """Whether a resource is created with these parameters (its ``Condition``, if any, holds)."""
        condition = load_template()["Resources"][logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def _ref(self, name: str) -> str:
        if name not in self.refs:
            raise UnresolvableValue(f"no local value for {name}")
        return self.refs[name]

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        resolved = {key: self.resolve(val) for key, val in variables.items()}
        substituted = _SUB.sub(lambda m: resolved.get(m.group(1)) or self._ref(m.group(1)), text)
        return substituted.replace("${!", "${")

    # -- what the local stack needs ------------------------------------------------------------------------------

    def physical_names(self, resource_type: str) -> dict[str, str]:
        """Logical id → local physical name of every resource of this type."""
        return {logical_id: self.refs[logical_id] for logical_id in resources(resource_type)}

    def function_environment(self) -> dict[str, str]:
        """The environment variables the template gives the functions (Globals, then each function's own).

        All functions share this process, so when two functions set one variable differently only the first
        value can be honoured (a warning says so)."""
        merged = self._variables(load_template().get("Globals", {}).get("Function", {}))
        set_by: dict[str, str] = {}
        for function, res in resources("AWS::Serverless::Function").items():
            for key, value in self._variables(res["Properties"]).items():
                if key in set_by:
                    if merged[key] != value:
                        logger.warning("%s and %s set %s differently; locally both see %s's value", set_by[key], function, key, set_by[key])
                    continue
                merged[key], set_by[key] = value, function
        return merged

    def _variables(self, props: dict[str, Any]) -> dict[str, str]:
        variables = {}
        for key, value in props.get("Environment", {}).get("Variables", {}).items():
            try:
                variables[key] = self.resolve(value)
            except UnresolvableValue:
                continue  # e.g. the API Gateway URL: the local stack supplies those itself
        return variables

    def function_timeout(self, function: str) -> int:
        props = resources("AWS::Serverless::Function")[function]["Properties"]
        globals_ = load_template().get("Globals", {}).get("Function", {})
        return int(self.resolve(props.get("Timeout", globals_.get("Timeout", 3))))

    def schedules(self) -> list[Schedule]:
        found = []
        for function, res in resources("AWS::Serverless::Function").items():
            for event_name, event in res["Properties"].get("Events", {}).items():
                if event["Type"] == "Schedule" and event["Properties"].get("Enabled", True) is not False:
                    found.append(Schedule(function, event_name, self.resolve(event["Properties"]["Schedule"])))
        return found


def _default_name(stack_name: str, logical_id: str, res: dict[str, Any]) -> str:
    if res["Type"] == "AWS::SecretsManager::Secret":
        return f"{stack_name}/{logical_id}"
    if res["Type"] == "AWS::Serverless::Api":
        return stack_name  # the REST API id; only used in URLs the local stack replaces
    return f"{stack_name}-{logical_id}"


_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Events::EventBus": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
}


def build_deployment(stack_name: str = "local", region: str = "us-east-1", parameters: dict[str, str] | None = None) -> Deployment:
    """Resolve parameters (template default < ``LOCAL_PARAMETERS`` < ``parameters``), then every resource's name."""
    template = load_template()
    values = {name: str(spec["Default"]) for name, spec in template.get("Parameters", {}).items() if "Default" in spec}
    values.update(LOCAL_PARAMETERS)
    values.update(parameters or {})
    unknown = set(parameters or {}) - set(template.get("Parameters", {}))
    if unknown:
        raise UnresolvableValue(f"template has no parameter(s) {sorted(unknown)}")
    deployment = Deployment(stack_name, region, values)
    deployment.refs = {
        **values,
        "AWS::StackName": stack_name,
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    for logical_id, res in template["Resources"].items():
        name_property = _NAME_PROPERTY.get(res["Type"])
        explicit = res.get("Properties", {}).get(name_property) if name_property else None
        try:
            deployment.refs[logical_id] = deployment.resolve(explicit) if explicit else _default_name(stack_name, logical_id, res)
        except UnresolvableValue:  # a name built from another resource's attribute: any unique local name will do
            deployment.refs[logical_id] = _default_name(stack_name, logical_id, res)
    return deployment


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float:
    """Seconds between runs of an EventBridge ``rate(...)`` expression (cron expressions are not simulated)."""
    match = _RATE.match(expression.strip())
    if not match:
        raise UnresolvableValue(f"only rate(...) schedules run locally, not {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]
