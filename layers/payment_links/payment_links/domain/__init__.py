"""Domain rules, free of AWS and HTTP: the payment request record, its transitions, cadence, contacts, errors."""
