"""The SES feedback loop as the template wires it: the configuration set the senders use publishes bounces,
complaints and deliveries to the default bus, and the rule takes exactly that set's events to the SES events
function, which may only read and write the table."""

from __future__ import annotations

from tests.template.cfn import props, translated_template

TABLE = {"Fn::GetAtt": ["PaymentRequestsTable", "Arn"]}
SET_NAME = {"Fn::If": ["HasSesConfigurationSet", {"Ref": "SesConfigurationSetName"}, {"Ref": "MessagesConfigurationSet"}]}


def test_the_senders_the_event_destination_and_the_rule_name_the_same_configuration_set():
    resources = translated_template()["Resources"]
    assert props(resources["MessagesEventDestination"])["ConfigurationSetName"] == SET_NAME
    variables = [props(r)["Environment"]["Variables"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert all(v["SES_CONFIGURATION_SET"] == SET_NAME for v in variables if "SES_CONFIGURATION_SET" in v)
    rule = props(resources["DeliveryEventsFunctionSesFeedback"])
    assert rule["EventPattern"]["source"] == ["aws.ses"]
    assert rule["EventPattern"]["detail"]["mail"]["tags"]["ses:configuration-set"] == [SET_NAME]
    assert rule["Targets"][0]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeliveryEventsDeadLetterQueue", "Arn"]}


def test_bounces_complaints_and_deliveries_go_to_the_default_bus():
    resources = translated_template()["Resources"]
    destination = props(resources["MessagesEventDestination"])["EventDestination"]
    assert sorted(destination["MatchingEventTypes"]) == ["bounce", "complaint", "delivery"] and destination["Enabled"] is True
    assert destination["EventBridgeDestination"]["EventBusArn"]["Fn::Sub"].endswith(":event-bus/default")
    assert (
        props(resources["MessagesConfigurationSet"]) and resources["MessagesConfigurationSet"]["Condition"] == "CreatesSesConfigurationSet"
    )


def test_the_delivery_events_function_reads_and_writes_only_the_table():
    resources = translated_template()["Resources"]
    role = props(resources["DeliveryEventsFunctionRole"])
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert [(s["Action"], s["Resource"]) for s in statements if s.get("Sid")] == [
        (
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
            {"Fn::GetAtt": ["PaymentRequestsTable", "Arn"]},
        ),
        ("sqs:SendMessage", {"Fn::GetAtt": ["DeliveryEventsFailureQueue", "Arn"]}),
    ]


def test_sns_sms_failure_logs_reach_the_function_only_when_asked_for():
    resources = translated_template()["Resources"]
    log_name = "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber/Failure"
    subscription = resources["SmsFailureLogsSubscription"]
    assert (
        subscription["Condition"] == "ReadsSmsDeliveryLogs" and resources["SmsFailureLogsPermission"]["Condition"] == "ReadsSmsDeliveryLogs"
    )
    assert props(subscription)["DestinationArn"] == {"Fn::GetAtt": ["DeliveryEventsFunction", "Arn"]}
    assert props(subscription)["FilterPattern"] == '{ $.status = "FAILURE" }'
    assert props(subscription)["LogGroupName"]["Fn::If"][2] == {"Fn::Sub": log_name}
    permission = props(resources["SmsFailureLogsPermission"])
    assert permission["Principal"] == "logs.amazonaws.com" and permission["SourceArn"]["Fn::Sub"].endswith(f"log-group:{log_name}:*")
    assert props(resources["SmsFailureLogGroup"])["LogGroupName"] == {"Fn::Sub": log_name}
