"""The unsubscribe links of a deployed stack carry the API's URL, read from the SSM parameter the template writes.

The template cannot give the functions the API's URL directly (the API references the functions: a cycle), so
``UNSUBSCRIBE_BASE_URL`` names the parameter instead; this checks the code follows that reference.
"""

from __future__ import annotations

import boto3
import pytest

from tests.support.aws_env import AwsEnv
from tests.template.cfn import props, render, translated_template

STACK = "shop-payments"
API_URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1"


def _deployed_value(template_value: str) -> str:
    return template_value.replace("${AWS::StackName}", STACK)


def test_unsubscribe_link_starts_with_the_api_url_stored_by_the_stack(aws: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    from payment_links.config import get_settings, reset_settings
    from payment_links.unsubscribe_token import read_token, signing_key, unsubscribe_url

    cfn = translated_template()
    parameter_name = _deployed_value(render(props(cfn["Resources"]["ApiUrlParameter"])["Name"]))
    boto3.client("ssm").put_parameter(Name=parameter_name, Value=API_URL, Type="String")
    variable = props(cfn["Resources"]["ResendFunction"])["Environment"]["Variables"]["UNSUBSCRIBE_BASE_URL"]
    monkeypatch.setenv("UNSUBSCRIBE_BASE_URL", _deployed_value(render(variable)))
    reset_settings()

    link = unsubscribe_url("req-123", "EMAIL", get_settings())

    assert link is not None and link.startswith(f"{API_URL}/unsubscribe/")
    claim = read_token(link.rsplit("/", 1)[1], signing_key(get_settings()))
    assert claim is not None and (claim.request_id, claim.channel) == ("req-123", "EMAIL")
