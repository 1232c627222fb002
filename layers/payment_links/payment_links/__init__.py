"""Shared layer of the Wix payment-links product: Wix client, domain rules, storage, notifications, flows."""
