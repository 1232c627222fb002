"""The local runtime behaves as AWS does where the product relies on it (tests/conftest.py installs both):

- one invocation's thread never sees another's event (Lambda: one invocation per execution environment);
- a reader never sees a DynamoDB transaction half-applied and then rolled back (DynamoDB: serialisable).

Each test fails without its mechanism: it was the rig, not the product, that made the webhook delivery test
fail in about half its runs (a delivery was verified and applied with another thread's body).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.table import Table

from tests.support.lambda_runtime import api_event


def test_concurrent_invocations_each_read_their_own_event() -> None:
    app = APIGatewayRestResolver()
    everyone_started = threading.Barrier(4)

    @app.get("/echo")
    def echo() -> dict[str, Any]:
        first = app.current_event.get_query_string_value("n")
        everyone_started.wait(timeout=5)  # every other invocation has set its event by now
        return {"first": first, "after": app.current_event.get_query_string_value("n"), "context": app.lambda_context["n"]}

    def invoke(n: int) -> dict[str, Any]:
        event = api_event("GET", "/echo", query={"n": str(n)})
        return app.resolve(event, {"n": n})

    with ThreadPoolExecutor(4) as pool:
        bodies = [response["body"] for response in pool.map(invoke, range(4))]
    assert bodies == [f'{{"first":"{n}","after":"{n}","context":{n}}}' for n in range(4)]


def test_a_reader_never_sees_a_transaction_that_is_rolled_back() -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "taken"}})
        written = threading.Event()
        seen: list[Any] = []
        real_put = Table.put_item

        def put_then_pause(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            result = real_put(self, item_attrs, *args, **kwargs)
            if item_attrs["pk"] == {"S": "first"}:
                written.set()
                time.sleep(0.3)  # the reader's moment: the first put is applied, the rollback still to come
            return result

        def read_meanwhile() -> None:
            written.wait(timeout=5)
            seen.append(dynamodb.get_item(TableName="t", Key={"pk": {"S": "first"}}, ConsistentRead=True).get("Item"))

        reader = threading.Thread(target=read_meanwhile)
        reader.start()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Table, "put_item", put_then_pause)
            with pytest.raises(ClientError, match="TransactionCanceled"):
                dynamodb.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": "t", "Item": {"pk": {"S": "first"}}}},
                        {"Put": {"TableName": "t", "Item": {"pk": {"S": "taken"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
                    ]
                )
        reader.join(timeout=5)
        assert written.is_set() and seen == [None]
        assert "Item" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "first"}})
