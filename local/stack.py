"""The whole product on one machine: ``python -m local.stack`` (``make run``).

Starts, on 127.0.0.1 only: moto's AWS (tables, bus, secrets, SES sender from ``template.yaml``), the Wix sandbox
(pushing signed webhooks to the local API), the API (routes from ``template.yaml``, real handlers in this
process) with the outbox and sweep control routes, and the reminder schedule on a clock that can run faster.
``LocalStack`` is also what the end-to-end tests start, on free ports. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from local.authorizers import OPERATOR_KEY, GatewayAuth, LambdaAuthorizer
from local.clock import ScheduleDriver, SimulatedClock, format_event_time, scheduled_event
from local.environment import Deployment, Schedule, build_deployment
from local.functions import LocalFunction, load_functions, reset_function_state
from local.gateway import Gateway
from local.moto_bootstrap import FAKE_CREDENTIALS, MotoServer, aws_client, bootstrap, ensure_port_free, queue_arn, queue_urls
from local.outbox import Outbox
from local.queue_workers import QueuePoller, queue_sources
from local.template import ROOT, api_auth, api_routes, resources
from local.wix_sandbox import DEMO_ORDER_ID, PUBLIC_KEY_FILE, SITE_A_INSTANCE_ID, SITE_B_INSTANCE_ID, SandboxServer

logger = logging.getLogger("local.stack")
HOST = "127.0.0.1"  # loopback only, always
API_KEY = "local-dev-key"
WIX_CREDENTIALS = {"apiKey": "local-wix-key"}  # what the sandbox accepts, with wix-site-id: local-site
# APP mode: the Wix app's OAuth client credentials (the sandbox's), a token per site; two demo sites and their keys.
WIX_APP_CREDENTIALS = {"appId": "local-app-id", "appSecret": "local-app-secret"}
DEMO_SITE_KEYS = {SITE_A_INSTANCE_ID: "local-site-a-key", SITE_B_INSTANCE_ID: "local-site-b-key"}
# Variables that could point boto3 at a real account; the local stack never uses one.
_AWS_VARIABLES_TO_CLEAR = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE")


@dataclass
class StackConfig:
    api_port: int = 3000
    moto_port: int = 5000
    sandbox_port: int = 3100
    state_dir: Path = ROOT / ".local"  # in the project, whatever the working directory
    clock_speed: float = 1.0
    sweep_interval: float | None = None  # real seconds between sweeps; default: the template's rate / clock speed
    schedule: bool = True
    parameters: dict[str, str] = field(default_factory=dict)  # template parameter overrides
    function_log_level: str = "WARNING"
    stack_name: str = "local"
    region: str = "us-east-1"
    sandbox_options: dict[str, Any] = field(default_factory=dict)  # extra SandboxConfig fields (tests)
    mode: str = "site"  # "site" (DeploymentMode=SITE) or "app" (APP: the two demo sites, each with its key)

    @property
    def app_mode(self) -> bool:
        return self.mode == "app"


class _QuietHandler(WSGIRequestHandler):
    """The gateway logs each request itself, with the function that served it."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class LocalStack:
    def __init__(self, config: StackConfig | None = None):
        self.config = config or StackConfig()
        self.clock = SimulatedClock(self.config.clock_speed)
        self.moto: MotoServer | None = None
        self.sandbox: SandboxServer | None = None
        self.deployment: Deployment | None = None
        self.functions: dict[str, LocalFunction] = {}
        self.outbox = Outbox(self.config.region)
        self.driver: ScheduleDriver | None = None
        self._http: BaseWSGIServer | None = None
        self._http_thread: threading.Thread | None = None
        self._saved_environment: dict[str, str | None] = {}
        self._queue_urls: dict[str, str] = {}
        self.pollers: list[QueuePoller] = []

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        config = self.config
        for name, port in (("API", config.api_port), ("moto", config.moto_port), ("Wix sandbox", config.sandbox_port)):
            ensure_port_free(HOST, port, name)
        config.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        config = self.config
        self.clock = SimulatedClock(config.clock_speed)  # the simulated time starts with the stack
        self.moto = MotoServer(HOST, config.moto_port).start()
        httpx.post(f"{self.moto.url}/moto-api/reset", timeout=10).raise_for_status()  # a clean AWS on every start
        # Bound first (served later) so the sandbox knows where to push webhooks.
        self._http = make_server(HOST, config.api_port, lambda environ, start: [], threaded=True, request_handler=_QuietHandler)
        self.sandbox = SandboxServer(
            host=HOST,
            port=config.sandbox_port,
            key_dir=config.state_dir,
            webhook_url=f"{self.api_url}/webhooks/wix",
            **config.sandbox_options,
        ).start()
        mode_parameters = {"DeploymentMode": "APP", "WixAuthMode": "OAUTH"} if config.app_mode else {}
        parameters = {"WixBaseUrl": self.sandbox.url, **mode_parameters, **config.parameters}
        self.deployment = build_deployment(config.stack_name, config.region, parameters)
        self._set_environment(self.function_environment())
        bootstrap(
            self.deployment,
            self.moto.url,
            {
                "WixCredentialsSecretArn": json.dumps(WIX_APP_CREDENTIALS if config.app_mode else WIX_CREDENTIALS),
                "WixWebhookPublicKeySecretArn": (config.state_dir / PUBLIC_KEY_FILE).read_text(),
            },
            state_dir=config.state_dir,
        )
        self._queue_urls = queue_urls(self.deployment, self.moto.url)
        self._set_environment(self.function_environment())  # now with the queues' URLs
        reset_function_state()
        self.functions = load_functions(self.deployment)
        sqs = aws_client("sqs", self.moto.url, config.region)
        for source in queue_sources(self.deployment):
            poller = QueuePoller(
                sqs,
                self._queue_urls[source.queue],
                queue_arn(self.deployment, source.queue),
                config.region,
                source,
                self._invoke_from_queue(source.function),
            )
            self.pollers.append(poller.start())
        self._http.app = Gateway(
            api_routes(),
            self.functions,
            self.outbox,
            self.sweep,
            run_delivery_event=self.delivery_event,
            stats_key=DEMO_SITE_KEYS[SITE_A_INSTANCE_ID] if config.app_mode else None,
            api_key=API_KEY,
            stage=self.deployment.parameters.get("StageName", "v1"),
            api_id=config.stack_name,
            binary_media_types=self._binary_media_types(),
            auth=self._gateway_auth(),
        )
        self._http_thread = threading.Thread(target=self._http.serve_forever, name="local-api", daemon=True)
        self._http_thread.start()
        if config.app_mode:
            self._register_demo_sites()
        if config.schedule and self.deployment.schedules():
            self.driver = ScheduleDriver(self.deployment.schedules(), self.clock, self._fire, config.sweep_interval).start()

    def stop(self) -> None:
        """Stop everything this stack started, newest first; safe to call more than once."""
        if self.driver:
            self.driver.stop()
            self.driver = None
        for poller in self.pollers:
            poller.stop()
        self.pollers = []
        if self._http:
            if self._http_thread:
                self._http.shutdown()
                self._http_thread.join()
            self._http.server_close()
            self._http, self._http_thread = None, None
        if self.sandbox:
            self.sandbox.stop()
            self.sandbox = None
        if self.moto:
            self.moto.stop()
            self.moto = None
        if self._saved_environment:
            self._restore_environment()
            reset_function_state()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- what callers need ---------------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        assert self._http is not None, "the stack is not running"
        return f"http://{HOST}:{self._http.server_port}"

    @property
    def sandbox_url(self) -> str:
        assert self.sandbox is not None, "the stack is not running"
        return self.sandbox.url

    @property
    def moto_url(self) -> str:
        assert self.moto is not None, "the stack is not running"
        return self.moto.url

    def function_environment(self) -> dict[str, str]:
        """The template's variables for the functions, pointed at moto, the sandbox and this API."""
        assert self.deployment is not None and self.moto is not None
        variables = self.deployment.function_environment()
        for logical_id, url in self._queue_urls.items():  # in AWS, !Ref of a queue is its URL
            variables = {key: url if value == self.deployment.refs[logical_id] else value for key, value in variables.items()}
        return {
            **variables,
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": self.config.region,
            "AWS_REGION": self.config.region,
            "UNSUBSCRIBE_BASE_URL": self.api_url,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": self.config.function_log_level,
        }

    def reminder_schedule(self) -> Schedule:
        assert self.deployment is not None
        schedules = self.deployment.schedules()
        named = [s for s in schedules if s.event == "ReminderSweep"]
        if not (named or schedules):
            raise LookupError("template.yaml has no schedule")
        return (named or schedules)[0]

    def sweep(self, at: datetime | None = None, wait_seconds: float = 120.0) -> Any:
        """Run the reminder sweep now, as a scheduled event whose ``time`` is ``at`` (default: the clock's now).

        With the reminder queue, the sweep only enqueues: this waits until the workers have finished every batch
        it enqueued (or ``wait_seconds`` pass) and returns the sweep's summary with their outcomes added."""
        summary = self._fire(self.reminder_schedule(), at or self.clock.now())
        if not isinstance(summary, dict) or not summary.get("sweepId"):
            return summary
        return self._with_worker_outcomes(summary, wait_seconds)

    def delivery_event(self, channel: str, address: str, kind: str) -> Any:
        """What a provider reports about the last message to ``address``: SES's event for an e-mail (a bounce,
        complaint or delivery), SNS's delivery status log for an SMS; handed to the delivery events function."""
        from local.delivery_feedback import ses_event, sms_failure_event

        if channel == "SMS":
            sent = [message_id for message_id, (number, _) in self.outbox.sms_messages() if number == address]
            if not sent:
                raise LookupError("No SMS was sent to that number.")
            event = sms_failure_event(address, kind, sent[-1], self.config.region)
        else:
            message = self.outbox.latest_email_to(address)
            if message is None:
                raise LookupError("No e-mail was sent to that address.")
            configuration_set = os.environ.get("SES_CONFIGURATION_SET", "")
            event = ses_event(kind, message.id, message.raw_data, address, configuration_set, self.config.region)
        return self.functions["DeliveryEventsFunction"].invoke(event)

    def _with_worker_outcomes(self, summary: dict[str, Any], wait_seconds: float) -> dict[str, Any]:
        from payment_links.flows.reminder_queue import SweepProgress
        from payment_links.flows.sweep import count_due
        from payment_links.store import DueIndex

        assert self.moto is not None
        dynamodb = aws_client("dynamodb", self.moto.url, self.config.region)
        table = os.environ["TABLE_NAME"]
        progress = SweepProgress(dynamodb, table)
        deadline = time.monotonic() + wait_seconds
        counts = progress.get(summary["sweepId"])
        while counts["done"] < summary["batches"] and time.monotonic() < deadline:
            time.sleep(0.05)
            counts = progress.get(summary["sweepId"])
        self.outbox.observe()
        failures = {name.removeprefix("failed:"): n for name, n in counts.items() if name.startswith("failed:")}
        skipped = {name.removeprefix("skipped:"): n for name, n in counts.items() if name.startswith("skipped:")}
        at = datetime.fromisoformat(summary["time"].replace("Z", "+00:00"))
        return {
            **summary,
            "sent": counts["sent"],
            "failed": counts["failed"],
            "failures": dict(sorted(failures.items())),
            "skipped": dict(sorted(skipped.items())),
            "batchesDone": counts["done"],
            "remaining": count_due(DueIndex(dynamodb, table), at),
        }

    def _invoke_from_queue(self, function: str) -> Any:
        def invoke(event: dict[str, Any]) -> Any:
            try:
                return self.functions[function].invoke(event)
            finally:
                self.outbox.observe()

        return invoke

    def _fire(self, schedule: Schedule, at: datetime) -> Any:
        assert self.deployment is not None
        event = scheduled_event(schedule, at, self.config.stack_name, self.config.region)
        try:
            return self.functions[schedule.function].invoke(event)
        finally:
            self.outbox.observe()

    # -- environment ---------------------------------------------------------------------------------------------

    def _set_environment(self, variables: dict[str, str]) -> None:
        for key in (*variables, *_AWS_VARIABLES_TO_CLEAR):
            self._saved_environment.setdefault(key, os.environ.get(key))
        for key in _AWS_VARIABLES_TO_CLEAR:
            os.environ.pop(key, None)
        os.environ.update(variables)

    def _restore_environment(self) -> None:
        for key, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environment = {}

    def _gateway_auth(self) -> GatewayAuth:
        """The template's API authorization: its Lambda authorizers (this stack's functions), the usage plan's keys."""
        assert self.deployment is not None and self.moto is not None
        auth = api_auth()
        authorizers = {}
        for name, spec in auth.get("Authorizers", {}).items():
            function_id = spec["FunctionArn"]["Fn::GetAtt"][0]
            identity = spec.get("Identity", {})
            authorizers[name] = LambdaAuthorizer(
                self.functions[function_id],
                identity_header=identity.get("Headers", ["Authorization"])[0].lower(),
                ttl_seconds=float(self.deployment.resolve(identity.get("ReauthorizeEvery", 300))),
            )
        usage_keys = {API_KEY}
        if self.config.app_mode:  # the key the authorizer hands back, as AppUsageApiKey holds it in AWS
            secret = self.deployment.refs["AppUsageKeyValue"]
            usage_keys.add(
                aws_client("secretsmanager", self.moto.url, self.config.region).get_secret_value(SecretId=secret)["SecretString"]
            )
        return GatewayAuth(authorizers, usage_keys, self.deployment.resolve(auth["ApiKeySourceType"]))

    def _register_demo_sites(self) -> None:
        """APP mode: the app is installed on the two demo sites (the sandbox pushes the signed AppInstalled events to
        the webhook route, which registers them), and each gets the storefront key the contract names."""
        assert self.sandbox is not None and self.deployment is not None and self.moto is not None
        # The layer is importable once the functions are loaded (local.functions puts it on the path, as Lambda does).
        from payment_links.sites import SiteRegistry
        from payment_links.tenancy import Site

        table = self.deployment.physical_names("AWS::DynamoDB::Table")["PaymentRequestsTable"]
        registry = SiteRegistry(aws_client("dynamodb", self.moto.url, self.config.region), table)
        for instance_id, key in DEMO_SITE_KEYS.items():
            httpx.post(f"{self.sandbox.url}/_sandbox/sites/{instance_id}/install", timeout=30).raise_for_status()
            site = Site(instance_id)
            deadline = time.monotonic() + 30
            while (record := registry.get(site)) is None or not record.active:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the demo site {instance_id} was not registered from its AppInstalled webhook")
                time.sleep(0.05)
            if not any(k.key_id == f"demo-{instance_id[:8]}" for k in registry.keys(site)):
                registry.create_key(site, datetime.now(UTC), key=key, key_id=f"demo-{instance_id[:8]}")

    def _binary_media_types(self) -> list[str]:
        assert self.deployment is not None
        types = []
        for res in resources("AWS::Serverless::Api").values():
            types += [self.deployment.resolve(t) for t in res["Properties"].get("BinaryMediaTypes", [])]
        return types

    def _keys_line(self) -> str:
        if not self.config.app_mode:
            return API_KEY
        sites = ", ".join(f"{key} (site {instance_id})" for instance_id, key in DEMO_SITE_KEYS.items())
        return f"{sites}; operator routes: x-operator-key: {OPERATOR_KEY}"

    def banner(self) -> str:
        schedule_line = "off"
        if self.driver:
            schedule_line = "; ".join(
                f"{s.event} ({s.expression}) every {self.driver.period(s):g}s real time" for s in self.driver.schedules
            )
        return "\n".join(
            [
                "Local stack ready (Ctrl-C stops it)",
                f"  API           {self.api_url}   header x-api-key: {self._keys_line()}",
                f"  Outbox        {self.api_url}/_local/outbox",
                f"  Wix sandbox   {self.sandbox_url}   payment pages {self.sandbox_url}/pay/<id>, control {self.sandbox_url}/_sandbox/",
                f"  AWS (moto)    {self.moto_url}",
                f"  Clock         {self.config.clock_speed:g}x, now {format_event_time(self.clock.now())}; schedule: {schedule_line}",
                f"  State         {self.config.state_dir}/ (webhook keys wix-webhook-private.pem / wix-webhook-public.pem)",
                f"  Demo order    {DEMO_ORDER_ID}",
                "  Try           make demo",
            ]
        )


# -- command line ----------------------------------------------------------------------------------------------


def _parameter(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected Name=Value")
    return key, value


def parse_args(argv: list[str] | None = None) -> StackConfig:
    env = os.environ.get  # string defaults go through each flag's type, so a bad variable is reported like a bad flag
    parser = argparse.ArgumentParser(prog="python -m local.stack", description="Run the whole product locally (loopback only).")
    parser.add_argument("--api-port", type=int, default=env("LOCAL_API_PORT", "3000"), help="API port (env LOCAL_API_PORT)")
    parser.add_argument("--moto-port", type=int, default=env("LOCAL_MOTO_PORT", "5000"), help="moto port (env LOCAL_MOTO_PORT)")
    parser.add_argument(
        "--sandbox-port", type=int, default=env("LOCAL_SANDBOX_PORT", "3100"), help="Wix sandbox port (env LOCAL_SANDBOX_PORT)"
    )
    parser.add_argument(
        "--state-dir", type=Path, default=Path(env("LOCAL_STATE_DIR", str(ROOT / ".local"))), help="local state (env LOCAL_STATE_DIR)"
    )
    parser.add_argument(
        "--clock-speed",
        type=float,
        default=env("LOCAL_CLOCK_SPEED", "1"),
        help="how much faster than real time the schedule's clock runs, e.g. 60 or 1440 (env LOCAL_CLOCK_SPEED)",
    )
    parser.add_argument(
        "--sweep-interval",
        type=float,
        default=env("LOCAL_SWEEP_INTERVAL"),
        help="real seconds between reminder sweeps (default: the template's rate divided by the clock speed)",
    )
    parser.add_argument("--no-schedule", action="store_true", help="do not run the schedule (use POST /_local/sweep)")
    parser.add_argument(
        "--mode",
        choices=["site", "app"],
        default=env("LOCAL_MODE", "site"),
        help="site: one Wix site (DeploymentMode=SITE); app: a Wix app's backend with two demo sites (env LOCAL_MODE)",
    )
    parser.add_argument("--param", type=_parameter, action="append", default=[], metavar="NAME=VALUE", help="override a template parameter")
    parser.add_argument("--verbose", action="store_true", help="show the functions' own (INFO) logs")
    args = parser.parse_args(argv)
    if args.clock_speed <= 0:
        parser.error("--clock-speed must be above zero")
    if args.sweep_interval is not None and args.sweep_interval <= 0:
        parser.error("--sweep-interval must be above zero")
    return StackConfig(
        api_port=args.api_port,
        moto_port=args.moto_port,
        sandbox_port=args.sandbox_port,
        state_dir=args.state_dir,
        clock_speed=args.clock_speed,
        sweep_interval=args.sweep_interval,
        schedule=not args.no_schedule,
        parameters=dict(args.param),
        function_log_level="INFO" if args.verbose else "WARNING",
        mode=args.mode,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    # Warnings from every library (moto, botocore, httpx); the stack's own lines at INFO: the gateway logs each call.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)-14s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    logging.getLogger("local").setLevel(logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # werkzeug would set INFO itself: moto's access log
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    # Ctrl-C stops it even when started from a script that put it in the background (which ignores SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = LocalStack(config)
    try:
        stack.start()
    except Exception as error:
        logger.error("could not start: %s", error)
        return 2
    print(stack.banner(), file=sys.stderr, flush=True)
    try:
        while not stop_requested.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        logger.info("stopping")
        stack.stop()
        logger.info("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
