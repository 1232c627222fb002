"""A message as the customer would receive it, rendered and not sent: the merchant's check of wording and language.

The saved payment page URL is shown (no Wix call is spent on a preview); a request with none yet shows
``PLACEHOLDER_URL``. Reminders show their real opt-out link, and the wording of the step asked for: ``FINAL`` when
the request expires before the schedule's next step.
"""

from __future__ import annotations

from payment_links.api_models import PreviewInput, PreviewView
from payment_links.deps import Dependencies
from payment_links.domain.contacts import EMAIL
from payment_links.domain.payment_request import KIND_REMINDER
from payment_links.domain.reminders import last_before_expiry
from payment_links.flows.create import get_payment_request
from payment_links.messages.render import Occasion, render_email, render_sms
from payment_links.unsubscribe_token import unsubscribe_url

PLACEHOLDER_URL = "https://payment-page.invalid/preview"


def preview(request_id: str, request: PreviewInput, deps: Dependencies) -> PreviewView:
    record = get_payment_request(request_id, deps)
    reminder = request.kind == KIND_REMINDER
    occasion = Occasion(request.kind, request.step if reminder else None, reminder and last_before_expiry(record, request.step))
    url = record.url or PLACEHOLDER_URL
    if request.channel == EMAIL:
        link = unsubscribe_url(record.id, EMAIL, deps.settings, deps.site) if reminder else None
        email = render_email(record, url, occasion, deps.settings, link)
        return PreviewView(subject=email.subject, text=email.text, html=email.html, language=email.locale, stage=email.stage, segments=None)
    sms = render_sms(record, url, occasion, deps.settings)
    return PreviewView(sms=sms.text, language=sms.locale, stage=sms.stage, segments=sms.segments.count)
