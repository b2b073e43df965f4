"""The audit log: one row per business row change (written by PostgreSQL triggers) or per
business intent (written by services in the same transaction)."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Append-only: the database refuses UPDATE, DELETE and TRUNCATE on this table.

    Partitioned by month on `occurred_at` (migration audit.0012, docs/adr/0010): the database's
    primary key is (id, occurred_at), because a partitioned table's unique constraints must
    contain the partition key. For the ORM `id` stays the primary key: ids come from one
    sequence (`audit_id_seq`) and are never reused, so `pk=` lookups find one row (an index
    probe per partition). Nothing has a foreign key to this table (there could be none: no
    unique constraint on id alone can exist)."""

    action = models.CharField(_("action"), max_length=64)
    table_name = models.CharField(_("table"), max_length=128)
    record_id = models.CharField(_("record id"), max_length=64, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    actor = models.CharField(_("actor"), max_length=255, default="unknown")
    actor_user_id = models.BigIntegerField(_("actor user id"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("time"), db_default=models.Func(function="clock_timestamp"))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.TextField(_("user agent"), blank=True, default="")
    metadata = models.JSONField(_("metadata"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    # sha256 of the entry's canonical content (audit/chain.py), computed by PostgreSQL at insert.
    checksum = models.CharField(_("checksum"), max_length=64, blank=True, default="")

    # Not a model field: column `txn` (bigint, the inserting transaction's id, database default)
    # ties each entry to the AuditSeal of its transaction.
    class Meta:
        db_table = "audit"
        ordering = ["-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["table_name", "record_id", "id"], name="audit_record_idx"),
            models.Index(fields=["occurred_at"], name="audit_time_idx"),
            models.Index(fields=["actor", "id"], name="audit_actor_idx"),
            models.Index(fields=["action", "id"], name="audit_action_idx"),
            models.Index(fields=["actor_user_id", "id"], name="audit_actor_user_idx"),
        ]
        permissions = [("export_auditentry", _("Can export the audit log"))]

    def __str__(self) -> str:
        return f"{self.action} {self.table_name}#{self.record_id} by {self.actor}"


class AuditSeal(models.Model):
    """One link of the audit hash chain per committed transaction that wrote audit entries.

    Written by PostgreSQL at commit (never by Django): it fixes how many entries the
    transaction wrote (ids `first_id`..`last_id`), a digest over their checksums, and chains
    to the previous seal, so deleting, adding or rewriting entries after the fact shows.
    Sealing per transaction instead of per entry keeps bulk writes cheap (one row per commit,
    no update of the entries)."""

    seq = models.BigIntegerField(_("position"), primary_key=True)
    txn = models.BigIntegerField(_("transaction id"))
    first_id = models.BigIntegerField(_("first entry id"))
    last_id = models.BigIntegerField(_("last entry id"))
    entry_count = models.IntegerField(_("entries"))
    entries_digest = models.CharField(_("entries digest"), max_length=64)
    prev_checksum = models.CharField(_("previous checksum"), max_length=64, blank=True)
    checksum = models.CharField(_("checksum"), max_length=64)
    sealed_at = models.DateTimeField(_("sealed at"))
    # 1: sha256 (before keyed sealing, or a session without the key); 2: HMAC with AUDIT_CHAIN_KEY.
    version = models.SmallIntegerField(_("checksum version"), default=1)

    class Meta:
        db_table = "audit_seals"
        ordering = ["-seq"]
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")
        indexes = [models.Index(fields=["txn"], name="audit_seals_txn_idx")]

    def __str__(self) -> str:
        return f"seal #{self.seq} ({self.entry_count} entries)"


class AuditCheckpoint(models.Model):
    """A chain position `verify_audit` proved intact: the next run verifies from here to the head
    (audit/verification.py). `mac` = HMAC with AUDIT_CHAIN_KEY over the other fields, so a
    checkpoint cannot be made up or moved in SQL; one that does not verify is ignored."""

    seal_seq = models.BigIntegerField(_("seal position"))
    seal_checksum = models.CharField(_("seal checksum"), max_length=64)
    max_entry_id = models.BigIntegerField(_("highest entry id verified"))
    entries = models.BigIntegerField(_("entries verified"))
    full = models.BooleanField(_("full verification"), default=False)
    verified_at = models.DateTimeField(_("verified at"))
    mac = models.CharField(_("MAC"), max_length=64)

    class Meta:
        db_table = "audit_checkpoints"
        ordering = ["-id"]
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")

    def __str__(self) -> str:
        return f"checkpoint at seal #{self.seal_seq}"


class AuditArchive(models.Model):
    """A monthly partition of `audit` exported to the file store (`manage.py audit_archive`) and
    detached. `verify_audit` reads the file back: its sha256 must be `digest`, and its rows still
    fit the seals (kept in `audit_seals`). `mac` = HMAC with AUDIT_CHAIN_KEY over the fields."""

    month = models.DateField(_("month"), unique=True)
    partition = models.CharField(_("partition"), max_length=63)
    storage_name = models.CharField(_("file"), max_length=255)
    rows = models.BigIntegerField(_("entries"))
    first_id = models.BigIntegerField(_("first entry id"), null=True)
    last_id = models.BigIntegerField(_("last entry id"), null=True)
    first_seal = models.BigIntegerField(_("first seal"), null=True)
    last_seal = models.BigIntegerField(_("last seal"), null=True)
    digest = models.CharField(_("sha256 of the file"), max_length=64)
    size = models.BigIntegerField(_("size"))
    archived_at = models.DateTimeField(_("archived at"))
    dropped = models.BooleanField(_("partition dropped"), default=False)
    mac = models.CharField(_("MAC"), max_length=64)

    class Meta:
        db_table = "audit_archives"
        ordering = ["month"]
        verbose_name = _("audit archive")
        verbose_name_plural = _("audit archives")

    def __str__(self) -> str:
        return f"{self.partition} → {self.storage_name}"


class SecurityEventKind(models.TextChoices):
    SIGN_IN_SUCCEEDED = "sign_in_succeeded", _("sign-in succeeded")
    SIGN_IN_FAILED = "sign_in_failed", _("sign-in failed")
    SIGN_OUT = "sign_out", _("sign-out")
    LOCKOUT = "lockout", _("locked out")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    ROLE_CREATED = "role_created", _("role created")
    ROLE_PERMISSIONS_CHANGED = "role_permissions_changed", _("role permissions changed")
    ROLE_DELETED = "role_deleted", _("role deleted")
    ROLE_ASSIGNED = "role_assigned", _("role assigned")
    ROLE_REVOKED = "role_revoked", _("role revoked")
    PASSWORD_SET = "password_set", _("password set")
    PERMISSIONS_CHANGED = "permissions_changed", _("permissions changed")
    ACCESS_DENIED = "access_denied", _("access denied")
    NEW_PAYEE = "new_payee", _("payment to a new payee account requested")
    PAYMENT_UNCOMPLETED = "payment_uncompleted", _("recorded payment reversed (un-completed)")


class SecurityEvent(models.Model):
    """Who signed in, failed to, was locked out, got or lost a token or a role, or was refused
    an owner operation. Kept apart from `audit` because most of these change no business row
    (a failed sign-in has no row at all) and owners review them separately. Append-only like
    `audit`. The user is a plain id, not a foreign key: the log outlives what it mentions."""

    kind = models.CharField(_("kind"), max_length=64, choices=SecurityEventKind.choices)
    user_id = models.BigIntegerField(_("user id"), null=True, blank=True)
    email = models.CharField(_("e-mail"), max_length=255, blank=True, default="")
    occurred_at = models.DateTimeField(_("time"), db_default=models.Func(function="clock_timestamp"))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.TextField(_("user agent"), blank=True, default="")
    details = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        db_table = "security_events"
        ordering = ["-id"]
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        indexes = [
            models.Index(fields=["kind", "id"], name="security_events_kind_idx"),
            models.Index(fields=["user_id", "id"], name="security_events_user_idx"),
            models.Index(fields=["occurred_at"], name="security_events_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.email or self.user_id or ''}".strip()
