"""Sending the payment link: e-mail through SES v2, SMS through SNS, with our own message templates."""
