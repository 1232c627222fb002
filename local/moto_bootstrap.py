"""AWS on one machine: moto's server mode in this process, with the template's resources created in it.

``start_moto`` runs ``ThreadedMotoServer`` on loopback; ``bootstrap`` creates, from ``template.yaml``'s own
definitions, the DynamoDB tables (keys, indexes, TTL), the EventBridge buses, the generated secrets, the
secrets a merchant passes as parameters (Wix credentials, the webhook public key) and the verified SES sender.
"""

from __future__ import annotations

import json
import logging
import secrets as random_secrets
import socket
import string
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from local.environment import ACCOUNT_ID, Deployment
from local.moto_dynamodb import serialise_dynamodb
from local.template import create_tables, resources

logger = logging.getLogger("local.moto")
FAKE_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}  # moto accepts any


class PortInUse(RuntimeError):
    pass


def ensure_port_free(host: str, port: int, what: str) -> None:
    """Fail fast with a clear message (ThreadedMotoServer would wait forever on a port it cannot bind)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise PortInUse(f"{what}: {host}:{port} is in use ({error.strerror}); pick another port") from error


class MotoServer:
    """moto's server mode on ``host:port`` (0 picks a free port), in a background thread of this process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5000):
        ensure_port_free(host, port, "moto")
        serialise_dynamodb()  # conditional writes and transactions as DynamoDB applies them, under concurrency
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.host = host

    def start(self) -> MotoServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        # ThreadedMotoServer stops serving but keeps its socket; release the port for the next start.
        http_server = getattr(self._server, "_server", None)
        if http_server is not None:
            http_server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"


def aws_client(service: str, endpoint_url: str, region: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, **FAKE_CREDENTIALS)


def _generated_secret(generate: dict[str, Any]) -> str:
    """A value for ``GenerateSecretString``, honouring its length and excluded characters."""
    alphabet = string.ascii_letters + string.digits
    if not generate.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    alphabet = "".join(c for c in alphabet if c not in generate.get("ExcludeCharacters", ""))
    return "".join(random_secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 32))))


def kept_generated_secret(state_dir: Path | None, logical_id: str, generate: dict[str, Any]) -> str:
    """A generated secret, created once and kept in ``state_dir`` (``secret-<LogicalId>``, owner-only), so what
    it signed before a restart (an unsubscribe link in an old e-mail) still verifies after it."""
    if state_dir is None:
        return _generated_secret(generate)
    path = state_dir / f"secret-{logical_id}"
    if path.exists():
        return path.read_text()
    value = _generated_secret(generate)
    path.touch(mode=0o600)
    path.write_text(value)
    return value


def bootstrap(deployment: Deployment, endpoint_url: str, parameter_secrets: dict[str, str], state_dir: Path | None = None) -> None:
    """Create the template's resources in moto.

    ``parameter_secrets`` maps a template parameter that names a secret (e.g. ``WixCredentialsSecretArn``) to
    the value that secret holds locally; the secret is created under the parameter's local value. Secrets the
    template generates are kept in ``state_dir`` across restarts when one is given.
    """
    region = deployment.region
    tables = deployment.physical_names("AWS::DynamoDB::Table")
    create_tables(aws_client("dynamodb", endpoint_url, region), tables)

    events = aws_client("events", endpoint_url, region)
    for bus in deployment.physical_names("AWS::Events::EventBus").values():
        events.create_event_bus(Name=bus)

    secrets = aws_client("secretsmanager", endpoint_url, region)
    for logical_id, res in resources("AWS::SecretsManager::Secret").items():
        props = res.get("Properties", {})
        value = props.get("SecretString")
        if value is not None:
            value = deployment.resolve(value)
        else:
            value = kept_generated_secret(state_dir, logical_id, props.get("GenerateSecretString", {}))
        secrets.create_secret(Name=deployment.refs[logical_id], SecretString=value)
    for parameter, value in parameter_secrets.items():
        secrets.create_secret(Name=deployment.parameters[parameter], SecretString=value)

    create_queues(deployment, endpoint_url)

    ses = aws_client("sesv2", endpoint_url, region)
    senders = {deployment.resolve(res["Properties"]["EmailIdentity"]) for res in resources("AWS::SES::EmailIdentity").values()}
    sender = deployment.function_environment().get("SENDER_EMAIL")
    for identity in sorted(senders | ({sender} if sender else set())):
        ses.create_email_identity(EmailIdentity=identity)
    logger.info(
        "AWS resources created: tables %s, buses %s, %d secrets, %d SES identities",
        ", ".join(tables.values()),
        ", ".join(deployment.physical_names("AWS::Events::EventBus").values()),
        len(resources("AWS::SecretsManager::Secret")) + len(parameter_secrets),
        len(senders) + bool(sender),
    )


def queue_arn(deployment: Deployment, logical_id: str) -> str:
    return f"arn:aws:sqs:{deployment.region}:{ACCOUNT_ID}:{deployment.refs[logical_id]}"


def create_queues(deployment: Deployment, endpoint_url: str) -> dict[str, str]:
    """The template's queues, dead-letter queues first, with their visibility timeout and redrive policy.
    Returns logical id → queue URL (what ``!Ref`` gives in AWS)."""
    sqs = aws_client("sqs", endpoint_url, deployment.region)
    queues = resources("AWS::SQS::Queue")
    urls: dict[str, str] = {}
    for logical_id, res in sorted(queues.items(), key=lambda item: "RedrivePolicy" in item[1].get("Properties", {})):
        props = res.get("Properties", {})
        attributes = {
            name: str(deployment.resolve(props[name])) for name in ("VisibilityTimeout", "MessageRetentionPeriod") if name in props
        }
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": queue_arn(deployment, target), "maxReceiveCount": redrive["maxReceiveCount"]}
            )
        urls[logical_id] = sqs.create_queue(QueueName=deployment.refs[logical_id], Attributes=attributes)["QueueUrl"]
    return urls


def queue_urls(deployment: Deployment, endpoint_url: str) -> dict[str, str]:
    sqs = aws_client("sqs", endpoint_url, deployment.region)
    return {logical_id: sqs.get_queue_url(QueueName=deployment.refs[logical_id])["QueueUrl"] for logical_id in resources("AWS::SQS::Queue")}
