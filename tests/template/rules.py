"""Our deployment rules, checked on the template as CloudFormation sees it (after aws-sam-translator).

The one home of the rules: each is a function from the translated template to a list of problems, registered
under a name. ``test_rules.py`` runs every rule on ``template.yaml``; ``test_rules_catch_breakage.py`` shows each
one failing on a copy of the template broken on purpose. A failure reads ``[RULE-NAME] what is wrong``.

cfn-lint (schema, references) and checkov (generic security checks) run beside these in CI; these are the rules
specific to this product that neither knows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tests.template.cfn import ROOT, as_list, props, references, render, resources, target

Problems = list[str]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[[dict[str, Any]], Problems]


RULES: dict[str, Rule] = {}


def rule(name: str, description: str) -> Callable[[Callable[[dict[str, Any]], Problems]], Callable[[dict[str, Any]], Problems]]:
    def register(check: Callable[[dict[str, Any]], Problems]) -> Callable[[dict[str, Any]], Problems]:
        RULES[name] = Rule(name, description, check)
        return check

    return register


def run(name: str, cfn: dict[str, Any]) -> Problems:
    return [f"[{name}] {problem}" for problem in RULES[name].check(cfn)]


# ---- what the product promises ---------------------------------------------------------------------------------

# Routes reached without the storefront API key: their own signature is their authentication.
KEYLESS_ROUTES = {
    ("post", "/webhooks/wix"),
    ("get", "/unsubscribe/{token}"),
    ("post", "/unsubscribe/{token}"),
    ("get", "/l/{token}"),  # the tracked pay link (LinkMode TRACKED): its signed token is the capability
    ("head", "/l/{token}"),
}
# The operator's routes (an APP deployment's site keys): IAM-signed requests, no storefront key.
IAM_ROUTES = {
    ("post", "/sites/{instanceId}/api-keys"),
    ("get", "/sites/{instanceId}/api-keys"),
    ("delete", "/sites/{instanceId}/api-keys/{keyId}"),
}
# Functions that do not use the payment-requests store: what they may do instead.
NOT_STORE_USERS = {"AuthorizerFunction": {"dynamodb:GetItem"}}
STOREFRONT_ROUTES = {
    ("get", "/settings"),
    ("put", "/settings"),
    ("post", "/payment-requests"),
    ("get", "/payment-requests"),
    ("get", "/payment-requests/{id}"),
    ("post", "/payment-requests/{id}/void"),
    ("post", "/payment-requests/{id}/resend"),
    ("post", "/orders/{orderId}/payment-requests/resend"),
}
# Resource "*" is allowed only for actions IAM cannot scope, and only with the reason.
UNSCOPABLE_ACTIONS = {
    "sns:CheckIfPhoneNumberIsOptedOut": "has no resource type in IAM",
}
# AWS managed policies a role may carry, and why.
ALLOWED_MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "SAM attaches it to every function role; the permissions boundary limits it to our log groups",
    "AWSLambdaSQSQueueExecutionRole": (
        "SAM attaches it for an SQS event source (the reminder workers' pollers); the permissions boundary limits it to this stack's queues"
    ),
    "AWSXrayWriteOnlyAccess": "SAM attaches it for Tracing: Active; X-Ray's write actions have no resource-level permissions",
    "AmazonAPIGatewayPushToCloudWatchLogs": "the account-level role API Gateway itself needs to write access logs",
}
PHONE_NUMBERS_ONLY = "arn:${AWS::Partition}:sns:*:*:*"
# Reading an identity (is a site's sender verified?) sends nothing.
SES_READ_ONLY = {"ses:GetEmailIdentity"}
SES_IDENTITIES = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"
# APP mode: each site sends as its own sender, which PUT /settings checks is one of this account's SES identities.
SES_APP_MODE_CONDITION = "IsAppMode"
SES_RESOURCES = {
    "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderEmail}",
    "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/split(${SenderEmail}, '@')[1]",
    # The merchant's configuration set, or the one the stack creates (with the feedback loop's event destination).
    "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/"
    "{if HasSesConfigurationSet: ${SesConfigurationSetName} else ${MessagesConfigurationSet}}",
}
REQUIRED_OUTPUTS = ("ApiUrl", "WebhookUrl", "ApiKeyId", "EventBusArn")
PRODUCT_ALARM_METRICS = ("WebhookRejected", "RemindersFailed")
TABLE_KEY = "{if HasTableKmsKey: ${TableKmsKeyArn} else ${AWS::NoValue}}"
DASHBOARD_KPIS = ("PaymentRequestsCreated", "LinksResent", "RemindersSent", "WebhookApplied")


# ---- small readers ---------------------------------------------------------------------------------------------


def functions(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(cfn, "AWS::Lambda::Function")


def function_role(cfn: dict[str, Any], function: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    role_id = target(props(function)["Role"])
    assert role_id is not None, "function role is not a resource of this template"
    return role_id, cfn["Resources"][role_id]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's statements; one under ``Fn::If`` counts with its condition noted in ``_condition``."""
    found = []
    for statement in as_list(document.get("Statement", [])):
        if isinstance(statement, dict) and set(statement) == {"Fn::If"}:
            condition, when_true, when_false = statement["Fn::If"]
            found += [{**when_true, "_condition": condition}] if isinstance(when_true, dict) and "Ref" not in when_true else []
            found += [{**when_false, "_condition": f"not {condition}"}] if isinstance(when_false, dict) and "Ref" not in when_false else []
        else:
            found.append(statement)
    return found


def role_documents(cfn: dict[str, Any], role: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document that grants the role something: inline policies and our own managed policies."""
    for policy in props(role).get("Policies", []):
        yield policy["PolicyName"], policy["PolicyDocument"]
    for arn in props(role).get("ManagedPolicyArns", []):
        policy_id = target(arn)
        if policy_id:
            yield policy_id, props(cfn["Resources"][policy_id])["PolicyDocument"]


def granted(cfn: dict[str, Any], role: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, st) for name, doc in role_documents(cfn, role) for st in statements(doc) if st.get("Effect") == "Allow"]


def code_text() -> str:
    """The Python source of the functions and the layer (metric names, AWS calls)."""
    paths = [*sorted((ROOT / "functions").rglob("*.py")), *sorted((ROOT / "layers").rglob("*.py"))]
    return "\n".join(path.read_text() for path in paths if ".aws-sam" not in path.parts)


def emitted_metric_names() -> set[str]:
    return set(re.findall(r'name="([A-Za-z]+)"', code_text())) | set(re.findall(r'_count\("([A-Za-z]+)"', code_text()))


def alarms(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(cfn, "AWS::CloudWatch::Alarm")


def alarms_on(cfn: dict[str, Any], namespace: str, metric: str) -> list[dict[str, Any]]:
    found = [props(a) for a in alarms(cfn).values()]
    return [a for a in found if render(a.get("Namespace")) == namespace and a.get("MetricName") == metric]


def dimension(alarm: dict[str, Any], name: str) -> Any:
    return next((d["Value"] for d in alarm.get("Dimensions", []) if d["Name"] == name), None)


def globals_environment(cfn: dict[str, Any]) -> dict[str, Any]:
    """The environment every function shares (the intersection of their variables)."""
    envs = [props(fn).get("Environment", {}).get("Variables", {}) for fn in functions(cfn).values()]
    return {key: value for key, value in envs[0].items() if all(env.get(key) == value for env in envs)} if envs else {}


# ---- the rules -------------------------------------------------------------------------------------------------


@rule("FUNCTION-LOG-GROUP", "every function logs to its own explicit log group, which has a retention")
def _function_log_group(cfn: dict[str, Any]) -> Problems:
    problems, seen = [], {}
    for name, fn in functions(cfn).items():
        group = target(props(fn).get("LoggingConfig", {}).get("LogGroup"))
        if group is None or cfn["Resources"].get(group, {}).get("Type") != "AWS::Logs::LogGroup":
            problems.append(f"{name} has no LoggingConfig.LogGroup pointing at a log group of this template")
            continue
        if "RetentionInDays" not in props(cfn["Resources"][group]):
            problems.append(f"{name}'s log group {group} keeps logs forever (no RetentionInDays)")
        if group in seen:
            problems.append(f"{name} and {seen[group]} share the log group {group}")
        seen[group] = name
    return problems


@rule("LOG-RETENTION", "every log group of the stack has a retention")
def _log_retention(cfn: dict[str, Any]) -> Problems:
    groups = resources(cfn, "AWS::Logs::LogGroup")
    return [f"{name} has no RetentionInDays" for name, group in groups.items() if "RetentionInDays" not in props(group)]


@rule("TRACING", "every function and the API stage are traced with X-Ray")
def _tracing(cfn: dict[str, Any]) -> Problems:
    problems = [
        f"{name} is not traced (TracingConfig.Mode Active)"
        for name, fn in functions(cfn).items()
        if props(fn).get("TracingConfig", {}).get("Mode") != "Active"
    ]
    stages = resources(cfn, "AWS::ApiGateway::Stage")
    problems += [f"stage {name} has TracingEnabled off" for name, st in stages.items() if props(st).get("TracingEnabled") is not True]
    return problems


@rule("LEAST-PRIVILEGE", "no wildcard actions, Resource '*' only where IAM cannot scope, known managed policies, no Scan")
def _least_privilege(cfn: dict[str, Any]) -> Problems:
    problems = []
    boundaries = {target(props(role).get("PermissionsBoundary")) for role in resources(cfn, "AWS::IAM::Role").values()} - {None}
    for role_name, role in resources(cfn, "AWS::IAM::Role").items():
        for arn in props(role).get("ManagedPolicyArns", []):
            if target(arn):
                continue
            policy = render(arn).rsplit("/", 1)[-1]
            if policy not in ALLOWED_MANAGED_POLICIES:
                problems.append(f"{role_name} carries the AWS managed policy {policy}, which is not on the allowed list")
        for policy_name, st in granted(cfn, role):
            where = f"{role_name} ({policy_name}, {st.get('Sid', 'no Sid')})"
            actions = [render(a) for a in as_list(st.get("Action", []))]
            if "NotAction" in st:
                problems.append(f"{where} grants with NotAction")
            for action in actions:
                if "*" in action:
                    problems.append(f"{where} grants the wildcard action {action}")
                if action.lower() in ("dynamodb:scan", "dynamodb:batchwriteitem"):
                    problems.append(f"{where} grants {action}: the store never scans nor batch-writes")
            if "NotResource" in st:
                if actions != ["sns:Publish"] or render(st["NotResource"]) != PHONE_NUMBERS_ONLY:
                    problems.append(f"{where} uses NotResource other than sns:Publish to phone numbers only")
                continue
            for resource in as_list(st.get("Resource", [])):
                if render(resource) in ("*", "arn:*", "arn:${AWS::Partition}:*"):
                    unscopable = [a for a in actions if a not in UNSCOPABLE_ACTIONS]
                    if unscopable:
                        problems.append(f"{where} grants {unscopable} on Resource '*'")
    for policy_id in resources(cfn, "AWS::IAM::ManagedPolicy"):
        if policy_id in boundaries:
            continue  # a boundary grants nothing; PERMISSIONS-BOUNDARY checks it
        roles = resources(cfn, "AWS::IAM::Role").values()
        attached = any(target(arn) == policy_id for role in roles for arn in props(role).get("ManagedPolicyArns", []))
        if not attached:
            problems.append(f"managed policy {policy_id} is attached to no role of this stack")
    return problems


@rule(
    "PERMISSIONS-BOUNDARY",
    "every function role is bounded to logging into the stack's own function log groups and to SQS on the stack's own queues",
)
def _permissions_boundary(cfn: dict[str, Any]) -> Problems:
    problems = []
    own_groups = {f"${{{target(props(fn).get('LoggingConfig', {}).get('LogGroup'))}.Arn}}" for fn in functions(cfn).values()}
    own_queues = {f"${{{queue_id}.Arn}}" for queue_id in resources(cfn, "AWS::SQS::Queue")}
    for name, fn in functions(cfn).items():
        role_id, role = function_role(cfn, fn)
        boundary_id = target(props(role).get("PermissionsBoundary"))
        if boundary_id is None or cfn["Resources"].get(boundary_id, {}).get("Type") != "AWS::IAM::ManagedPolicy":
            problems.append(f"{name}'s role {role_id} has no permissions boundary of this template")
            continue
        for st in statements(props(cfn["Resources"][boundary_id])["PolicyDocument"]):
            if st.get("Effect") != "Allow":
                continue
            actions = [render(a) for a in as_list(st.get("Action", []))]
            if "NotAction" in st:
                if sorted(render(a) for a in as_list(st["NotAction"])) not in (["logs:*"], ["logs:*", "sqs:*"]):
                    problems.append(f"boundary {boundary_id}: NotAction must be logs:* (and sqs:*) (got {render(st['NotAction'])})")
            elif any(a.startswith("sqs:") for a in actions):
                outside = {render(r) for r in as_list(st.get("Resource", []))} - own_queues
                if outside:
                    problems.append(f"boundary {boundary_id} lets {name} use queues outside its stack: {sorted(outside)}")
            elif any(a.startswith("logs:") for a in actions):
                outside = {render(r) for r in as_list(st.get("Resource", []))} - own_groups
                if outside:
                    problems.append(f"boundary {boundary_id} lets {name} log outside its stack's function log groups: {sorted(outside)}")
    return problems


def _site_mode(rendered: str) -> str:
    """``{if IsAppMode: identity/* else X}`` → X: what a SITE deployment grants."""
    prefix = f"{{if {SES_APP_MODE_CONDITION}: {SES_IDENTITIES} else "
    return rendered[len(prefix) : -1] if rendered.startswith(prefix) and rendered.endswith("}") else rendered


@rule(
    "SES-SENDER-ONLY",
    "ses:SendEmail only from the SenderEmail identity (address or domain) and the chosen configuration set; in APP mode "
    "from this account's identities (each site's sender is checked to be one); other SES actions only read identities",
)
def _ses_sender_only(cfn: dict[str, Any]) -> Problems:
    problems, grants = [], 0
    for role_name, role in resources(cfn, "AWS::IAM::Role").items():
        for _policy, st in granted(cfn, role):
            actions = [render(a) for a in as_list(st.get("Action", []))]
            if not any(a.startswith("ses:") for a in actions):
                continue
            if set(actions) <= SES_READ_ONLY:
                continue
            grants += 1
            if actions != ["ses:SendEmail"]:
                problems.append(f"{role_name} grants SES actions {actions}; only ses:SendEmail is needed")
            # SITE mode's view of the statement: APP mode may send as any identity (the site's checked sender).
            resources_ = {_site_mode(render(r)) for r in as_list(st.get("Resource", []))}
            extra = resources_ - SES_RESOURCES
            if extra:
                problems.append(f"{role_name} may send e-mail as {sorted(extra)}")
            condition = st.get("Condition", {})
            if isinstance(condition, dict) and set(condition) == {"Fn::If"}:
                mode, app_mode_condition, condition = condition["Fn::If"]
                if mode != SES_APP_MODE_CONDITION or app_mode_condition != {"StringLike": {"ses:FromAddress": "*"}}:
                    problems.append(f"{role_name}'s ses:SendEmail condition differs by {mode}, not by deployment mode")
            if render(condition.get("StringEquals", {}).get("ses:FromAddress")) != "${SenderEmail}":
                problems.append(f"{role_name}'s ses:SendEmail is not conditioned on ses:FromAddress = SenderEmail")
    if grants == 0:
        problems.append("no role may send e-mail")
    return problems


@rule("CONCURRENCY", "every function has reserved concurrency set from FunctionConcurrencyLimit (0 = unreserved)")
def _concurrency(cfn: dict[str, Any]) -> Problems:
    expected = "{if LimitsConcurrency: ${FunctionConcurrencyLimit} else ${AWS::NoValue}}"
    return [
        f"{name}'s ReservedConcurrentExecutions is {render(props(fn).get('ReservedConcurrentExecutions'))}, not {expected}"
        for name, fn in functions(cfn).items()
        if render(props(fn).get("ReservedConcurrentExecutions")) != expected
    ]


def _rule_targets(cfn: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, rule_ in resources(cfn, "AWS::Events::Rule").items():
        for tgt in props(rule_).get("Targets", []):
            yield name, tgt


def _source_arn(statement: dict[str, Any]) -> str:
    return render(statement.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn"))


def dead_letter_queues(cfn: dict[str, Any]) -> dict[str, str]:
    """Queue logical id -> what dead-letters into it."""
    found = {}
    for name, tgt in _rule_targets(cfn):
        queue = target(tgt.get("DeadLetterConfig", {}).get("Arn"))
        if queue:
            found[queue] = f"rule {name}"
    for name, config in resources(cfn, "AWS::Lambda::EventInvokeConfig").items():
        queue = target(props(config).get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
        if queue:
            found[queue] = f"async invoke config {name}"
    return found


@rule("ASYNC-FAILURES-KEPT", "every rule target has a DLQ and retry policy; every async-invoked function an OnFailure queue")
def _async_failures_kept(cfn: dict[str, Any]) -> Problems:
    problems = []
    queues = resources(cfn, "AWS::SQS::Queue")
    queue_policies = list(resources(cfn, "AWS::SQS::QueuePolicy").values())
    async_functions = set()
    for name, tgt in _rule_targets(cfn):
        dlq = target(tgt.get("DeadLetterConfig", {}).get("Arn"))
        if dlq not in queues:
            problems.append(f"rule {name} target {tgt.get('Id')} has no dead-letter queue of this template")
        elif not any(
            dlq in {target(q) for q in props(policy)["Queues"]}
            and any(_source_arn(st) == f"${{{name}.Arn}}" for st in statements(props(policy)["PolicyDocument"]))
            for policy in queue_policies
        ):
            problems.append(f"rule {name}'s dead-letter queue {dlq} has no queue policy letting that rule (aws:SourceArn) send to it")
        if "RetryPolicy" not in tgt:
            problems.append(f"rule {name} target {tgt.get('Id')} has no RetryPolicy")
        fn = target(tgt.get("Arn"))
        if fn in functions(cfn):
            async_functions.add(fn)
    configured = {target(props(c)["FunctionName"]): props(c) for c in resources(cfn, "AWS::Lambda::EventInvokeConfig").values()}
    for fn in sorted(async_functions):
        config = configured.get(fn)
        destination = target((config or {}).get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
        if config is None or destination not in queues:
            problems.append(f"{fn} is invoked asynchronously but has no OnFailure destination queue of this template")
        elif "MaximumRetryAttempts" not in config:
            problems.append(f"{fn}'s async invoke config leaves MaximumRetryAttempts to the default")
    return problems


@rule("DLQ-DEPTH-ALARM", "every dead-letter or failure queue has an alarm on its depth")
def _dlq_depth_alarm(cfn: dict[str, Any]) -> Problems:
    depth_alarms = alarms_on(cfn, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    watched = {render(dimension(a, "QueueName")) for a in depth_alarms if a.get("Threshold", 99) <= 1}
    return [
        f"{queue} (dead letters of {source}) has no depth alarm at threshold 1"
        for queue, source in dead_letter_queues(cfn).items()
        if f"${{{queue}.QueueName}}" not in watched
    ]


@rule("FUNCTION-ALARMS", "every function has an Errors and a Throttles alarm")
def _function_alarms(cfn: dict[str, Any]) -> Problems:
    problems = []
    for name in functions(cfn):
        for metric in ("Errors", "Throttles"):
            if not any(render(dimension(a, "FunctionName")) == f"${{{name}}}" for a in alarms_on(cfn, "AWS/Lambda", metric)):
                problems.append(f"{name} has no {metric} alarm")
    return problems


@rule("API-ALARMS", "the API has a 5xx-rate alarm and a p90-latency alarm on its own name and stage")
def _api_alarms(cfn: dict[str, Any]) -> Problems:
    problems = []
    (api,) = resources(cfn, "AWS::ApiGateway::RestApi").values()
    (stage,) = resources(cfn, "AWS::ApiGateway::Stage").values()
    api_name, stage_name = render(props(api).get("Name")), render(props(stage)["StageName"])

    def on_api(alarm: dict[str, Any]) -> bool:
        return render(dimension(alarm, "ApiName")) == api_name and render(dimension(alarm, "Stage")) == stage_name

    if not any(on_api(a) and a.get("Statistic") == "Average" for a in alarms_on(cfn, "AWS/ApiGateway", "5XXError")):
        problems.append(f"no 5XXError alarm on the rate (Statistic Average) for ApiName {api_name}, Stage {stage_name}")
    if not any(on_api(a) and a.get("ExtendedStatistic") == "p90" for a in alarms_on(cfn, "AWS/ApiGateway", "Latency")):
        problems.append(f"no Latency p90 alarm for ApiName {api_name}, Stage {stage_name}")
    return problems


@rule("PRODUCT-ALARMS", "webhook rejects and reminder failures alarm, on metrics the code emits in the stack's namespace")
def _product_alarms(cfn: dict[str, Any]) -> Problems:
    problems = []
    env = globals_environment(cfn)
    namespace, service = render(env.get("POWERTOOLS_METRICS_NAMESPACE")), render(env.get("POWERTOOLS_SERVICE_NAME"))
    if "${AWS::StackName}" not in namespace:
        problems.append(f"the metrics namespace {namespace} is not per deployment (no stack name)")
    emitted = emitted_metric_names()
    for metric in PRODUCT_ALARM_METRICS:
        found = [a for a in alarms_on(cfn, namespace, metric) if render(dimension(a, "service")) == service]
        if not found:
            problems.append(f"no alarm on {metric} in namespace {namespace} with dimension service={service}")
        if metric not in emitted:
            problems.append(f"the code no longer emits {metric}; its alarm would never fire")
    for alarm in alarms(cfn).values():
        metric = props(alarm).get("MetricName")
        if render(props(alarm).get("Namespace")) == namespace and metric not in emitted:
            problems.append(f"an alarm watches {metric}, which the code does not emit")
    threshold = [render(a.get("Threshold")) for a in alarms_on(cfn, namespace, "WebhookRejected")]
    if threshold and threshold != ["${WebhookRejectAlarmThreshold}"]:
        problems.append("the webhook reject alarm's threshold is not the WebhookRejectAlarmThreshold parameter")
    return problems


@rule("ALARMS-NOTIFY", "every alarm notifies the alarm topic, which has an optional e-mail subscription")
def _alarms_notify(cfn: dict[str, Any]) -> Problems:
    topics = resources(cfn, "AWS::SNS::Topic")
    problems = [
        f"alarm {name} notifies no topic of this stack"
        for name, alarm in alarms(cfn).items()
        if not any(target(action) in topics for action in props(alarm).get("AlarmActions", []))
    ]
    subscriptions = [(s.get("Condition"), props(s)) for s in resources(cfn, "AWS::SNS::Subscription").values()]
    by_email = [p for c, p in subscriptions if c == "HasAlarmEmail" and p.get("Protocol") == "email"]
    if not any(render(p.get("Endpoint")) == "${AlarmEmail}" for p in by_email):
        problems.append("no e-mail subscription to the alarm topic conditioned on the AlarmEmail parameter")
    return problems


@rule("API-KEYS", "storefront routes need the API key, webhook, unsubscribe and tracked links do not; a usage plan throttles the key")
def _api_keys(cfn: dict[str, Any]) -> Problems:
    problems = []
    (api,) = resources(cfn, "AWS::ApiGateway::RestApi").values()
    body = props(api)["Body"]
    routes, guards = {}, {}
    for path, methods in body.get("paths", {}).items():
        for method, spec in methods.items():
            if not isinstance(spec, dict) or method.startswith("x-"):
                continue
            requirements = {name for requirement in spec.get("security", []) for name in requirement}
            routes[(method, path)] = "api_key" in requirements
            guards[(method, path)] = requirements
    for route in sorted(STOREFRONT_ROUTES | KEYLESS_ROUTES | IAM_ROUTES):
        if route not in routes:
            problems.append(f"route {route[0].upper()} {route[1]} is missing")
    for route, key_required in sorted(routes.items()):
        name = f"{route[0].upper()} {route[1]}"
        if route in KEYLESS_ROUTES and key_required:
            problems.append(f"{name} requires the API key, but its callers (Wix, customers) have none")
        elif route in IAM_ROUTES and "AWS_IAM" not in guards[route]:
            problems.append(f"{name} is an operator route but is not IAM-authorized")
        elif route not in KEYLESS_ROUTES | IAM_ROUTES:
            if not key_required:
                problems.append(f"{name} is reachable without the API key")
            if "SiteKeyAuthorizer" not in guards[route]:
                problems.append(f"{name} does not pass the site-key authorizer (APP mode could not tell its site)")
        if route in KEYLESS_ROUTES and guards[route] - {"api_key"}:
            problems.append(f"{name} has an authorizer, but its callers (Wix, customers) have no key")
    key_header = body.get("securityDefinitions", {}).get("api_key", {})
    if key_header.get("name") != "x-api-key" or key_header.get("in") != "header":
        problems.append("the API key is not read from the x-api-key header")
    plans = list(resources(cfn, "AWS::ApiGateway::UsagePlan").values())
    if not plans:
        return [*problems, "no usage plan"]
    for plan in plans:
        throttle = props(plan).get("Throttle", {})
        if "RateLimit" not in throttle or "BurstLimit" not in throttle:
            problems.append("the usage plan has no rate and burst throttle")
        if not props(plan).get("ApiStages"):
            problems.append("the usage plan applies to no API stage")
    if not resources(cfn, "AWS::ApiGateway::UsagePlanKey") or not resources(cfn, "AWS::ApiGateway::ApiKey"):
        problems.append("no API key bound to the usage plan")
    return problems


@rule("TABLES", "tables keep PITR, SSE and deletion protection as parameters, and survive a stack deletion")
def _tables(cfn: dict[str, Any]) -> Problems:
    problems = []
    for name, table in resources(cfn, "AWS::DynamoDB::Table").items():
        p = props(table)
        if render(p.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")) != "${TablePointInTimeRecovery}":
            problems.append(f"{name}'s point-in-time recovery is not the TablePointInTimeRecovery parameter")
        sse = p.get("SSESpecification", {})
        if sse.get("SSEEnabled") is not True or render(sse.get("KMSMasterKeyId")) != TABLE_KEY:
            problems.append(f"{name} is not KMS-encrypted with the TableKmsKeyArn parameter's key (or the AWS managed key)")
        if render(p.get("DeletionProtectionEnabled")) != "${TableDeletionProtection}":
            problems.append(f"{name}'s deletion protection is not the TableDeletionProtection parameter")
        if table.get("DeletionPolicy") != "Retain" or table.get("UpdateReplacePolicy") != "Retain":
            problems.append(f"{name} would be deleted with the stack or on replacement (DeletionPolicy/UpdateReplacePolicy Retain)")
    return problems


@rule("DASHBOARD", "one dashboard shows the KPIs: created, sent, paid, conversion, reminders, webhook latency")
def _dashboard(cfn: dict[str, Any]) -> Problems:
    dashboards = list(resources(cfn, "AWS::CloudWatch::Dashboard").values())
    if len(dashboards) != 1:
        return [f"expected one dashboard, found {len(dashboards)}"]
    text = render(props(dashboards[0])["DashboardBody"])
    try:
        body = json.loads(re.sub(r"\$\{[^}]+\}", "x", text))
    except json.JSONDecodeError as exc:
        return [f"the dashboard body is not JSON once substituted: {exc}"]
    metrics = [m for w in body["widgets"] for m in w.get("properties", {}).get("metrics", [])]
    names = {m[1] for m in metrics if isinstance(m[0], str)}
    problems = [f"the dashboard does not show {kpi}" for kpi in DASHBOARD_KPIS if kpi not in names]
    if not any("paid" in m for m in metrics if isinstance(m[0], str) and m[1] == "WebhookApplied"):
        problems.append("the dashboard does not show paid requests (WebhookApplied, kind=paid)")
    if not any(isinstance(m[0], dict) and re.search(r"paid\s*/\s*created", m[0].get("expression", "")) for m in metrics):
        problems.append("the dashboard has no conversion expression (paid / created)")
    if "${WebhookFunction}" not in text or not any(m[:2] == ["AWS/Lambda", "Duration"] for m in metrics):
        problems.append("the dashboard does not show the webhook function's latency")
    custom = {m[1] for m in metrics if isinstance(m[0], str) and m[0].startswith("PaymentLinks/")}
    problems += [f"the dashboard shows {name}, which the code does not emit" for name in sorted(custom - emitted_metric_names())]
    return problems


@rule("OUTPUTS", "the stack prints what a merchant pastes into Wix and the storefront")
def _outputs(cfn: dict[str, Any]) -> Problems:
    outputs = cfn.get("Outputs", {})
    problems = [f"no {name} output" for name in REQUIRED_OUTPUTS if name not in outputs]
    if "WebhookUrl" in outputs and not render(outputs["WebhookUrl"]["Value"]).endswith("/webhooks/wix"):
        problems.append("WebhookUrl does not end with the webhook route")
    return problems


@rule("ENVIRONMENT-NAMES", "every variable the template sets is one the code reads (or Powertools')")
def _environment_names(cfn: dict[str, Any]) -> Problems:
    from payment_links.config import Settings

    read = {field.alias for field in Settings.model_fields.values() if field.alias}
    problems = []
    for name, fn in functions(cfn).items():
        for variable in props(fn).get("Environment", {}).get("Variables", {}):
            if variable not in read and not variable.startswith("POWERTOOLS_"):
                problems.append(f"{name} sets {variable}, which no setting reads")
    return problems


@rule("NO-CIRCULAR-DEPENDENCY", "CloudFormation can order the resources (no reference cycle)")
def _no_circular_dependency(cfn: dict[str, Any]) -> Problems:
    ids = set(cfn["Resources"])
    graph = {
        name: (references(res.get("Properties", {})) | references(res.get("Metadata", {})) | set(as_list(res.get("DependsOn", [])))) & ids
        for name, res in cfn["Resources"].items()
    }
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return [f"circular dependency: {cycle}" for cycle in cycles]


_BOTO_TO_IAM = {"get_item": "GetItem", "put_item": "PutItem", "update_item": "UpdateItem", "delete_item": "DeleteItem", "query": "Query"}


@rule("STORE-PERMISSIONS", "every function may make each DynamoDB call the store makes on the payment-requests table")
def _store_permissions(cfn: dict[str, Any]) -> Problems:
    store_code = (ROOT / "layers/payment_links/payment_links/store.py").read_text()
    needed = {f"dynamodb:{iam}" for call, iam in _BOTO_TO_IAM.items() if f".{call}(" in store_code}
    if "transact_write_items(" in store_code:
        needed.add("dynamodb:PutItem")  # the transactions are of Puts
    problems = []
    for name, fn in functions(cfn).items():
        _role_id, role = function_role(cfn, fn)
        allowed = set()
        for _policy, st in granted(cfn, role):
            if any("PaymentRequestsTable" in render(r) for r in as_list(st.get("Resource", []))):
                allowed |= {render(a) for a in as_list(st.get("Action", []))}
        missing = NOT_STORE_USERS.get(name, needed) - allowed
        if missing:
            problems.append(f"{name} cannot make the store's calls {sorted(missing)} on PaymentRequestsTable")
    return problems


@rule("API-URL-PARAMETER", "the unsubscribe base URL comes from an SSM parameter holding the stage URL, readable by the resend function")
def _api_url_parameter(cfn: dict[str, Any]) -> Problems:
    configured = render(globals_environment(cfn).get("UNSUBSCRIBE_BASE_URL"))
    if not configured.startswith("ssm:"):
        return [f"UNSUBSCRIBE_BASE_URL is {configured}, not ssm:<parameter> (a reference to the API from a function is a cycle)"]
    name = configured.removeprefix("ssm:")
    parameters = [props(p) for p in resources(cfn, "AWS::SSM::Parameter").values() if render(props(p).get("Name")) == name]
    problems = []
    if not parameters:
        problems.append(f"no SSM parameter named {name}")
    elif not render(parameters[0]["Value"]).startswith("https://${Api}.execute-api."):
        problems.append(f"the parameter {name} does not hold the API's stage URL")
    resend = functions(cfn).get("ResendFunction")
    if resend is not None:
        _role_id, role = function_role(cfn, resend)
        readable = any(
            "ssm:GetParameter" in [render(a) for a in as_list(st.get("Action", []))]
            and any(render(r).endswith(f":parameter{name}") for r in as_list(st.get("Resource", [])))
            for _policy, st in granted(cfn, role)
        )
        if not readable:
            problems.append(f"ResendFunction cannot ssm:GetParameter {name}")
    return problems
