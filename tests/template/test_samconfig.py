"""``samconfig.toml``'s defaults let ``sam deploy`` create this template the first time."""

from __future__ import annotations

import tomllib

from tests.template.cfn import ROOT, load_sam_template, props, resources, translated_template


def _deploy_defaults() -> dict[str, object]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    return {**config["default"]["global"]["parameters"], **config["default"]["deploy"]["parameters"]}


def test_the_iam_capability_granted_is_the_one_the_template_needs() -> None:
    defaults = _deploy_defaults()
    named = [
        name
        for kind, name_property in (("AWS::IAM::Role", "RoleName"), ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"))
        for name, res in resources(translated_template(), kind).items()
        if name_property in props(res)
    ]
    assert defaults["capabilities"] == ("CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM")


def test_deploys_confirm_the_change_set_and_need_no_bucket_of_their_own() -> None:
    defaults = _deploy_defaults()
    assert defaults["confirm_changeset"] is True
    assert defaults["resolve_s3"] is True
    assert defaults["stack_name"]


def test_builds_are_not_cached_because_the_layer_depends_on_the_architecture() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["default"]["build"]["parameters"]["cached"] is False


MERCHANT_DECIDES = [
    "WixAuthMode",
    "WixSiteId",
    "WixInstanceId",
    "WixCredentialsSecretArn",
    "WixWebhookPublicKeySecretArn",
    "SenderEmail",
    "StoreName",
    "AlarmEmail",
]


def test_guided_deploy_asks_what_a_merchant_must_decide_first_and_defaults_everything_else() -> None:
    parameters = load_sam_template()["Parameters"]
    assert list(parameters)[: len(MERCHANT_DECIDES)] == MERCHANT_DECIDES  # sam deploy --guided prompts in this order
    assert {name for name, spec in parameters.items() if "Default" not in spec} <= set(MERCHANT_DECIDES)
