"""Remove each mechanism in turn and show that the test proving its guarantee fails: ``make mutants``.

Each row runs pytest in a fresh process with ``RELIABILITY_MUTANT=<name>`` (``mutants.py``) on the tests that
prove that mechanism's guarantee, and expects them to fail. A mutant whose tests still pass is a guarantee
nobody checks: the command exits 1. Takes a few minutes; CI does not run it (``make test`` runs the suites
with every mechanism in place).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

FUZZ = "tests/reliability/test_fuzz_api.py::test_no_request_gets_a_5xx_or_an_answer_outside_the_document"
# mutant → the tests that must fail without it
CHECKS: dict[str, list[str]] = {
    "no-idempotency": ["tests/reliability/test_concurrency.py", "-k", "concurrent_identical"],
    "no-conditional-save": ["tests/reliability/test_concurrency.py", "-k", "fifty or overlapping"],
    "no-paid-event-lease": ["tests/reliability/test_webhook_delivery.py", "-k", "six_times"],
    "paid-flag-cleared-before-put": ["tests/reliability/test_webhook_delivery.py", "-k", "crashing"],
    "no-wix-retries": ["tests/reliability/test_wix_faults.py"],
    "no-create-adoption": ["tests/reliability/test_wix_faults.py", "-k", "create"],
    "no-retry-after": ["tests/reliability/test_wix_faults.py"],
    "no-reminder-handback": ["tests/reliability/test_aws_faults.py", "-k", "reminder_ses_refused"],
    "no-reminder-lease": ["tests/reliability/test_reminder_workers.py"],
    "no-started-flag": ["tests/reliability/test_reminder_workers.py"],
    "no-order-check": ["tests/functions/test_reminder_pipeline.py", "-k", "order_paid_another_way or partial_payment"],
    "no-order-lease": ["tests/functions/test_reissue.py", "-k", "two_requests"],
    "reissue-without-intent": ["tests/functions/test_reissue.py", "-k", "interrupts_after_the_void"],
    "counters-from-scratch": ["tests/functions/test_stats.py", "-k", "three_times"],
    "no-own-write-recognition": ["tests/reliability/test_aws_faults.py", "-k", "answer_lost"],
    "no-update-retry": ["tests/reliability/test_aws_faults.py", "-k", "lost_conditional"],
    "no-aws-unavailable-answer": ["tests/reliability/test_aws_faults.py", "-k", "persistent_throttling"],
    "no-send-outcomes": ["tests/reliability/test_aws_faults.py", "-k", "ses_and_sns"],
    "no-validation-answer": [f"{FUZZ}[invalid-POST /payment-requests]"],
    "no-signature-check": ["tests/reliability/test_properties.py", "-k", "genuine_token"],
    "no-quiet-hours": ["tests/reliability/test_properties.py", "-k", "reminder"],
    "no-api-key": ["tests/security/test_gateway.py", "-k", "without_the_right_key"],
    "no-webhook-body-limit": ["tests/security/test_gateway.py", "-k", "own_limit"],
    "no-unsubscribe-signature": ["tests/security/test_unsubscribe_links.py"],
    "no-id-escaping": ["tests/security/test_no_ssrf.py"],
    "no-json-depth-limit": ["tests/reliability/test_hostile_inputs.py", "-k", "POST and payment-requests"],
    "no-wix-confirmation": ["tests/functions/test_webhook_trust.py", "-k", "wix_says"],
    "no-instance-check": ["tests/functions/test_webhook_trust.py", "-k", "another_site or pinned"],
    "no-recipient-rule": ["tests/functions/test_resend_recipients.py", "-k", "does_not_have"],
    "amounts-rounded-half-up": ["tests/functions/test_create_trust.py", "-k", "never_more"],
    "adopt-any-external-id": ["tests/functions/test_create_trust.py", "-k", "never_taken_over"],
    "no-site-scoping": ["tests/functions/test_app_mode.py", "-k", "same_external_id"],
    "any-key-any-site": ["tests/functions/test_app_mode.py", "-k", "authorizer_maps"],
}


def main() -> int:
    survivors = []
    print(f"{'mutant':<30} {'tests':<62} result")
    for name, selection in CHECKS.items():
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *selection],
            env={**os.environ, "RELIABILITY_MUTANT": name},
            capture_output=True,
            text=True,
        )
        failed = done.returncode == 1  # tests failed (2+ would be an interrupted or broken run)
        if not failed:
            survivors.append(name)
        outcome = "fails (caught)" if failed else f"NOT CAUGHT (pytest exit {done.returncode})"
        print(f"{name:<30} {' '.join(selection):<62} {outcome}  {time.monotonic() - started:.0f} s", flush=True)
    if survivors:
        print(f"guarantees nobody checks: {', '.join(survivors)}")
        return 1
    print(f"all {len(CHECKS)} mutants caught")
    return 0


if __name__ == "__main__":
    sys.exit(main())
