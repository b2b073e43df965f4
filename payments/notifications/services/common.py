"""What the notification services share: the NOTIFY channel that wakes workers."""

# PostgreSQL NOTIFY channel: the outbox notifies it in the approval's transaction, so workers
# blocked in LISTEN wake at commit (never on rollback) instead of waiting for their next poll.
WAKE_CHANNEL = "acountee_notifications"
