"""What providers tell us after sending: bounces, complaints, unsubscribes,
deliveries, opens and clicks.

    webhooks.py    the routed tracking webhooks: anymail's views, event by event
    guard.py       middleware in front of the webhook routes (size, method)
    receiver.py    anymail's tracking signal: store the event, enqueue it
    kinds.py       which anymail event types matter and what they mean here
    processing.py  store, apply (suppress, record) and sweep stored events
    admin.py       suppressions and provider events in the admin
    checks.py      check --deploy: a routed webhook nothing authenticates
"""
