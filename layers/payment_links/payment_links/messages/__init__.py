"""What customers read: every e-mail and SMS is rendered here, in the customer's language.

``render``: the one entry point (locale, escalation stage, amounts and dates through Babel's CLDR data, Jinja2's
sandbox with autoescape); ``catalogs``: the gettext catalogs (``locale/<lang>/LC_MESSAGES/messages.po`` in the
repository, compiled to ``.mo`` by the layer's build); ``sms``: GSM-7 / UCS-2 segment counting; ``templates``:
the product's own templates.
"""
