"""The buyer-facing pages: the payment page behind each payment link, and an index for people poking around.

``GET /pay/{id}`` shows what is being asked for and a Pay button; the button POSTs to the same URL, which pays
the request exactly as the ``/_sandbox/.../pay`` control route does. No contact details are ever shown.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .errors import WixError
from .formats import formatted_money
from .orders import order_balance
from .payment_requests import UNPAID, PaymentRequestService
from .state import SandboxState

RULES = [
    Rule("/", methods=["GET"], endpoint="page:index"),
    Rule("/pay/<request_id>", methods=["GET"], endpoint="page:show"),
    Rule("/pay/<request_id>", methods=["POST"], endpoint="page:pay"),
]

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
.card { border: 1px solid #ddd; border-radius: .5rem; padding: 1.5rem; }
.amount { font-size: 2rem; font-weight: 600; margin: .5rem 0; }
.status { display: inline-block; padding: .1rem .5rem; border-radius: .25rem; background: #eee; }
.status-PAID { background: #d4f5dc; } .status-EXPIRED, .status-VOIDED { background: #f5d4d4; }
.notice { padding: .75rem; border-radius: .25rem; background: #fff4d6; margin-bottom: 1rem; }
.notice.success { background: #d4f5dc; }
button { font-size: 1.1rem; padding: .6rem 2rem; border: 0; border-radius: .25rem; background: #116dff; color: #fff; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: .25rem .5rem; }
"""


class PaymentPage:
    def __init__(self, state: SandboxState, payment_requests: PaymentRequestService):
        self.state = state
        self.payment_requests = payment_requests

    def handle(self, request: Request, endpoint: str, args: dict[str, str]) -> Response:
        return getattr(self, endpoint)(request, **args)

    def show(self, request: Request, request_id: str) -> Response:
        try:
            entity = self.payment_requests.get(request_id)
        except WixError:
            return _page("Payment request not found", "<p>This payment link is not valid.</p>", 404)
        return _page(entity["title"], _request_card(entity))

    def pay(self, request: Request, request_id: str) -> Response:
        try:
            entity, _ = self.payment_requests.pay(request_id)
        except WixError as error:
            if error.code == "ORDER_PAYMENT_REQUEST_NOT_FOUND":
                return _page("Payment request not found", "<p>This payment link is not valid.</p>", 404)
            entity = self.payment_requests.get(request_id)
            notice = f"This payment request is {entity['status']} and cannot be paid. Nothing was charged."
            return _page(entity["title"], _request_card(entity, notice=notice), 409)
        return _page(entity["title"], _request_card(entity, notice="Paid. Thank you!", success=True))

    def index(self, request: Request) -> Response:
        with self.state.lock:
            orders = [(o, self.state.owner_of(o["id"])) for o in self.state.orders.values()]
            requests = [dict(e) for e in self.state.payment_requests.values()]
        order_rows = "".join(
            f"<tr><td>#{escape(o['number'])}</td><td>{escape(o['paymentStatus'])}</td>"
            f"<td>{escape(formatted_money(order_balance(o), o['currency']))}</td><td><code>{escape(o['id'])}</code></td>"
            f"<td><code>{escape(site)}</code></td></tr>"
            for o, site in orders
        )
        request_rows = "".join(
            f'<tr><td><a href="/pay/{escape(e["id"])}">{escape(e["title"])}</a></td>'
            f"<td>#{escape(e['orderNumber'])}</td><td>{escape(e['amount']['formattedAmount'])}</td>"
            f'<td><span class="status status-{escape(e["status"])}">{escape(e["status"])}</span></td></tr>'
            for e in requests
        )
        body = (
            "<h1>Wix sandbox</h1>"
            "<h2>Orders</h2><table><tr><th>Order</th><th>Payment</th><th>Balance</th><th>ID</th><th>Site</th></tr>"
            f"{order_rows}</table>"
            "<h2>Payment requests</h2><table><tr><th>Title</th><th>Order</th><th>Amount</th><th>Status</th></tr>"
            f"{request_rows or '<tr><td colspan=4>None yet</td></tr>'}</table>"
        )
        return _page("Wix sandbox", body)


def _request_card(entity: dict[str, Any], *, notice: str | None = None, success: bool = False) -> str:
    status = entity["status"]
    parts = []
    if notice:
        parts.append(f'<div class="notice{" success" if success else ""}">{escape(notice)}</div>')
    parts.append('<div class="card">')
    parts.append(f"<h1>{escape(entity['title'])}</h1>")
    if entity.get("description"):
        parts.append(f"<p>{escape(entity['description'])}</p>")
    amount = formatted_money(Decimal(entity["amount"]["amount"]), entity["currency"])
    parts.append(f'<div class="amount">{escape(amount)} <small>{escape(entity["currency"])}</small></div>')
    parts.append(f'<p>Order #{escape(entity["orderNumber"])} · <span class="status status-{escape(status)}">{escape(status)}</span></p>')
    if status == UNPAID:
        parts.append(f'<form method="post" action="/pay/{escape(entity["id"])}"><button type="submit">Pay {escape(amount)}</button></form>')
    elif status == "PAID":
        parts.append("<p><strong>Paid</strong></p>")
    else:
        parts.append(f"<p>This payment request is {escape(status.lower())} and can no longer be paid.</p>")
    parts.append("</div>")
    return "".join(parts)


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")
