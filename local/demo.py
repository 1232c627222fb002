"""``make demo``: both seed flows, end to end, over HTTP against a running local stack (``make run``).

1. Payment link: a test order with a balance → create a payment request → the e-mail and SMS in the outbox carry
   the link → a day later, unpaid, the reminder sweep sends a reminder → the customer presses Pay on the
   payment page → the signed webhook marks it PAID, with history → a resend is refused (409).
2. Lost link: a payment request made at Wix outside this product → the customer lost the link → resend by
   order finds the UNPAID request at Wix and sends its link again → the customer pays.

Prints each step; exits 1 at the first step that does not behave as the contract says, 2 if no stack answers.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

WIX_HEADERS = {"Authorization": "local-wix-key", "wix-site-id": "local-site"}


class DemoFailed(Exception):
    pass


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll ``probe`` until it returns something truthy (webhooks arrive asynchronously, as from Wix)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise DemoFailed(f"timed out waiting for {what}")
        time.sleep(0.1)


def next_reminder_time(created_at: str) -> str:
    """Noon UTC at least one day after creation: the first reminder (P1D) is due, outside quiet hours."""
    created = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    noon = (created + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    if noon < created + timedelta(days=1):
        noon += timedelta(days=1)
    return noon.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Demo:
    def __init__(self, api: httpx.Client, sandbox: httpx.Client, out: Callable[[str], None] = print):
        self.api = api
        self.sandbox = sandbox
        self.out = out
        self.run_id = uuid.uuid4().hex[:6]

    # -- helpers -------------------------------------------------------------------------------------------------

    def step(self, text: str) -> None:
        self.out(f"  - {text}")

    def expect(self, response: httpx.Response, status: int, what: str) -> Any:
        if response.status_code != status:
            raise DemoFailed(f"{what}: expected HTTP {status}, got {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def create_order(self, balance: str, who: str) -> dict[str, Any]:
        buyer = {
            "email": f"{who}.{self.run_id}@example.com",
            # Not ending in 99: moto treats those numbers as opted out of SMS.
            "phone": f"+1201555{uuid.uuid4().int % 10**4:04d}",
            "firstName": who.capitalize(),
            "lastName": "Demo",
        }
        body = {"balance": balance, "currency": "USD", "buyer": buyer}
        order = self.expect(self.sandbox.post("/_sandbox/orders", json=body), 201, "create a test order")["order"]
        self.step(f"test order #{order['number']} ({order['id']}) with a balance of {balance} USD")
        return {**order, "buyer": buyer}

    def outbox_message(self, to: str, channel: str, containing: str, count: int = 1) -> dict[str, Any]:
        def probe() -> Any:
            outbox = self.expect(self.api.get("/_local/outbox.json", params={"to": to}), 200, "read the outbox")
            found = [m for m in outbox[channel] if containing in (m.get("html") or "") + (m.get("text") or m.get("message") or "")]
            return found[0] if len(found) >= count else None

        return wait_for(f"{channel} #{count} with the link in the outbox", probe)

    def pay(self, url: str) -> None:
        # The payment page's Pay button is a form POST to the page's own URL.
        response = self.sandbox.post(url, headers={"Content-Type": "application/x-www-form-urlencoded"})
        if response.status_code != 200 or "Paid" not in response.text:
            raise DemoFailed(f"paying on {url} failed: HTTP {response.status_code}")
        self.step(f"the customer opened {url} and pressed Pay")

    # -- the flows -----------------------------------------------------------------------------------------------

    def payment_link_flow(self) -> None:
        self.out("Flow 1: send a payment link, remind, get paid")
        order = self.create_order("25.00", "jane")
        body = {"orderId": order["id"], "externalId": f"demo-{self.run_id}-1", "title": "Balance"}
        created = self.expect(self.api.post("/payment-requests", json=body), 201, "create a payment request")
        self.step(f"created payment request {created['id']}: {created['amount']} {created['currency']}, status {created['status']}")
        sent = ", ".join(f"{n['channel']} {n['status']}" for n in created["notifications"])
        self.step(f"notifications: {sent}")
        email = self.outbox_message(order["buyer"]["email"], "emails", created["url"])
        self.step(f'outbox: e-mail "{email["subject"]}" links to {created["url"]}')
        self.outbox_message(order["buyer"]["phone"], "sms", created["url"])
        self.step("outbox: SMS with the same link")

        at = next_reminder_time(created["createdAt"])
        summary = self.expect(self.api.post("/_local/sweep", json={"time": at}), 200, "run the reminder sweep")
        self.step(f"reminder sweep as of {at}: {summary}")
        self.outbox_message(order["buyer"]["email"], "emails", created["url"], count=2)
        self.step("outbox: a reminder e-mail with the same link")

        self.pay(created["url"])

        def paid() -> dict[str, Any] | None:
            view = self.expect(self.api.get(f"/payment-requests/{created['id']}"), 200, "get the payment request")
            return view if view["status"] == "PAID" else None

        view = wait_for("the webhook to mark it PAID", paid)
        self.step(f"signed webhook delivered: status {view['status']}, paid at {view['paidAt']}")
        self.step("history: " + " → ".join(entry["event"] for entry in view["history"]))
        refused = self.api.post(f"/payment-requests/{created['id']}/resend")
        error = self.expect(refused, 409, "resend a paid request")["error"]
        self.step(f"resending it is refused: 409 {error['code']}")

    def print_stats(self) -> None:
        """What the messages earned today (GET /stats), as the merchant would read it."""
        today = datetime.now(UTC).date().isoformat()
        report = self.expect(self.api.get("/stats", params={"from": today, "to": today}), 200, "read the stats")
        totals = report["totals"]
        rate = totals["recoveryRate"]
        amounts = ", ".join(f"{amount} {currency}" for currency, amount in totals["paid"]["amount"].items()) or "0"
        self.out(
            f"Stats for {today}: {totals['requested']['count']} requested, {totals['paid']['count']} paid ({amounts}), "
            f"recovery rate {'-' if rate is None else f'{rate:.0%}'}; chart: {self.api.base_url}/_local/stats"
        )
        for step, group in report["byStep"].items():
            self.out(f"  {step:<12} sent {group['sent']:>3}  clicked {group['clicked']:>3}  paid {group['paid']:>3}")

    def lost_link_flow(self) -> None:
        self.out("Flow 2: the customer lost the link")
        order = self.create_order("40.00", "sam")
        entity = {
            "orderId": order["id"],
            "amount": {"amount": "40.00"},
            "title": "Remaining balance",
            "source": {"externalId": f"wix-dashboard-{self.run_id}"},
        }
        made = self.expect(
            self.sandbox.post("/ecom/v1/order-payment-requests", json={"orderPaymentRequest": entity}, headers=WIX_HEADERS),
            200,
            "create a payment request at Wix",
        )
        request_id, url = made["orderPaymentRequest"]["id"], made["orderPaymentRequestUrl"]
        self.step(f"the merchant created payment request {request_id} in Wix, outside this product")
        resent = self.expect(self.api.post(f"/orders/{order['id']}/payment-requests/resend", json={}), 200, "resend by order")
        self.step(f"resend by order: {_describe(resent)}")
        email = self.outbox_message(order["buyer"]["email"], "emails", url)
        self.step(f'outbox: e-mail "{email["subject"]}" links to {url}')
        self.pay(url)

        def delivered() -> bool:
            deliveries = self.expect(self.sandbox.get("/_sandbox/webhooks"), 200, "read webhook deliveries")["deliveries"]
            return any(d["entityId"] == request_id and d["slug"] == "paid" and d["status"] == 200 for d in deliveries)

        wait_for("the paid webhook to be accepted", delivered)
        self.step("signed paid webhook delivered and accepted (200)")


def _describe(body: Any) -> str:
    if isinstance(body, dict):
        items = body.get("paymentRequests") or body.get("resent") or []
        if isinstance(items, list) and items:
            return f"{len(items)} payment request(s) sent again"
    return "sent again"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m local.demo", description="Drive both seed flows against the running local stack.")
    parser.add_argument("--api-url", default=env("LOCAL_API_URL", f"http://127.0.0.1:{env('LOCAL_API_PORT', '3000')}"))
    parser.add_argument("--sandbox-url", default=env("LOCAL_SANDBOX_URL", f"http://127.0.0.1:{env('LOCAL_SANDBOX_PORT', '3100')}"))
    parser.add_argument(
        "--api-key",
        default=env("LOCAL_API_KEY", "local-dev-key"),
        help='the storefront key: local-dev-key, or with make run ARGS="--mode app" a site\'s (local-site-a-key)',
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = parse_args(argv)
    with (
        httpx.Client(base_url=args.api_url, headers={"x-api-key": args.api_key}, timeout=30) as api,
        httpx.Client(base_url=args.sandbox_url, timeout=30) as sandbox,
    ):
        try:
            api.get("/_local/outbox.json")
            sandbox.get("/_sandbox/health")
        except httpx.TransportError:
            out(f"No local stack at {args.api_url} / {args.sandbox_url}: start it first with `make run`.")
            return 2
        demo = Demo(api, sandbox, out)
        try:
            demo.payment_link_flow()
            demo.lost_link_flow()
            demo.print_stats()
        except (DemoFailed, httpx.HTTPError) as error:
            out(f"FAILED: {error}")
            return 1
    out("Both seed flows passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
