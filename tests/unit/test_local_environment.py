"""The local deployment of template.yaml (names, environment, schedules) and the schedule's clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from local import clock as clock_module
from local.clock import ScheduleDriver, SimulatedClock, format_event_time, scheduled_event
from local.environment import Schedule, UnresolvableValue, build_deployment, rate_seconds
from local.outbox import html_text_and_links


def test_the_functions_environment_is_the_templates_resolved_with_local_values():
    deployment = build_deployment("dev", parameters={"WixBaseUrl": "http://127.0.0.1:3100", "StoreName": "Shop"})
    env = deployment.function_environment()

    assert env["TABLE_NAME"] == "dev-PaymentRequestsTable"
    assert env["EVENT_BUS_NAME"] == "dev-payment-links"  # !Sub "${AWS::StackName}-payment-links"
    assert env["WIX_BASE_URL"] == "http://127.0.0.1:3100"
    assert env["STORE_NAME"] == "Shop"
    assert env["WIX_SITE_ID"] == "local-site"
    assert env["UNSUBSCRIBE_SECRET"] == deployment.physical_names("AWS::SecretsManager::Secret")["UnsubscribeSigningKey"]


def test_a_parameter_the_template_does_not_have_is_refused():
    with pytest.raises(UnresolvableValue):
        build_deployment(parameters={"NoSuchParameter": "x"})


def test_schedules_come_from_the_templates_schedule_events():
    (schedule,) = build_deployment(parameters={"ReminderSweepRate": "rate(5 minutes)"}).schedules()
    assert (schedule.function, schedule.event, schedule.rate_seconds) == ("ResendFunction", "ReminderSweep", 300)


@pytest.mark.parametrize(("expression", "seconds"), [("rate(1 minute)", 60), ("rate(15 minutes)", 900), ("rate(2 hours)", 7200)])
def test_rate_expressions(expression, seconds):
    assert rate_seconds(expression) == seconds


def test_cron_expressions_are_not_simulated():
    with pytest.raises(UnresolvableValue):
        rate_seconds("cron(0 12 * * ? *)")


def test_the_simulated_clock_runs_speed_times_faster(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: now[0])
    clock = SimulatedClock(speed=60)
    start = clock.now()
    now[0] += 10
    assert (clock.now() - start).total_seconds() == 600


def test_a_scheduled_event_carries_the_instant_as_eventbridge_formats_it():
    event = scheduled_event(
        Schedule("ResendFunction", "ReminderSweep", "rate(15 minutes)"), datetime(2030, 1, 2, 3, 4, 5, 678, UTC), "local", "us-east-1"
    )
    assert event["time"] == "2030-01-02T03:04:05Z"
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
    assert format_event_time(datetime(2030, 1, 2, tzinfo=UTC)) == "2030-01-02T00:00:00Z"


def test_the_driver_fires_each_schedule_with_the_clocks_time_until_stopped():
    fired: list[datetime] = []
    twice = threading.Event()

    def fire(schedule: Schedule, at: datetime) -> dict:
        fired.append(at)
        if len(fired) >= 2:
            twice.set()
        return {"sent": 0}

    driver = ScheduleDriver([Schedule("F", "E", "rate(1 minute)")], SimulatedClock(speed=600), fire, interval=0.01).start()
    assert twice.wait(5)
    driver.stop()
    count = len(fired)
    assert fired[1] > fired[0]
    assert not [t for t in driver._threads if t.is_alive()]
    assert len(fired) == count  # nothing fires after stop()


def test_the_outbox_reads_the_text_and_links_of_an_html_email():
    text, links = html_text_and_links('<p>Hello,</p><p><a href="https://x.test/pay/1">Pay now</a></p><style>p{}</style>')
    assert text == "Hello,\nPay now (https://x.test/pay/1)"
    assert links == ["https://x.test/pay/1"]


def test_a_generated_secret_is_kept_in_the_state_directory_across_restarts(tmp_path):
    from local.moto_bootstrap import kept_generated_secret

    first = kept_generated_secret(tmp_path, "UnsubscribeSigningKey", {"PasswordLength": 64, "ExcludePunctuation": True})
    again = kept_generated_secret(tmp_path, "UnsubscribeSigningKey", {"PasswordLength": 64, "ExcludePunctuation": True})

    assert first == again and len(first) == 64 and first.isalnum()
    assert (tmp_path / "secret-UnsubscribeSigningKey").stat().st_mode & 0o777 == 0o600
    assert kept_generated_secret(None, "UnsubscribeSigningKey", {}) != first  # no state directory: a new one each time
