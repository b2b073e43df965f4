"""Report benchmarks (issue 13). Prints figures; asserts nothing about time.

    psql -h 127.0.0.1 -U postgres -c 'create database acountee_reports'
    PGURI=postgres://postgres@127.0.0.1:5432/acountee_reports .venv/bin/python bench/reports.py [--runs 7]

Migrates the database PGURI names, seeds (once; `--reseed` to start over) 100,000 invoices from
1,000 suppliers over two years, 20,000 PRs (all statuses, 60,000 invoice links, 2,000 advanced PRs
without invoices), their two-step chains with approvers and records, a `request_approval` audit
entry per requested PR and 300,000 other audit rows, all with `INSERT … SELECT generate_series`
(triggers off for the seed only). Then runs each report several times through the same code the
API uses (registry → queries) and prints the median and the max in milliseconds, plus the JSON
API round trip (token auth, middleware) of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "ERROR")

N_INVOICES, N_PRS, N_ADVANCED, N_LINKED, N_USERS, N_SUPPLIERS = 100_000, 20_000, 2_000, 60_000, 20, 1_000

SEED_SQL = """
SET session_replication_role = replica;
TRUNCATE approval_records, approval_step_users, approval_steps, approval, pr_invoice, pr, invoices,
         approval_flows, audit RESTART IDENTITY CASCADE;
INSERT INTO approval_flows (id, name, description, is_active, created_at, updated_at)
SELECT g, 'Bench flow ' || g, '', false, now(), now() FROM generate_series(1, 3) g;
INSERT INTO invoices (id, schema_version, title, template_code, series, number, number_int, issue_date, currency,
  exchange_rate, payment_method_text, issuer_tax_code, tax_authority_code, related_template_code, related_series,
  related_number, related_note, seller_name, seller_tax_code, seller_address, seller_bank_account, seller_bank_name,
  seller_phone, seller_email, buyer_name, buyer_tax_code, buyer_address, total_before_tax, total_tax, trade_discount,
  other_fees, total_payable, total_in_words, rate_summaries, extras, status, content_hash, buyer_tax_code_mismatch,
  superseded_while_linked, payment_type, payment_bank_name, payment_bank_account, payment_account_name, created_at,
  updated_at, source_file_id, currency_as_written, related_from_line_text, related_match, consistency_findings,
  seller_certificate_tax_code, seller_signature, tax_authority_signature, signature_details, signature_override_reason)
SELECT g, '2.0.1', 'HÓA ĐƠN GTGT', '1', 'C25BEN', lpad(g::text, 8, '0'), g,
  date '2025-01-01' + (g * 7919 % 700), 'VND', 1, '', '', '', '', '', '', '',
  'Nhà cung cấp ' || (g % %(suppliers)s), lpad((1000000000 + g % %(suppliers)s)::text, 10, '0'), '', '', '', '', '',
  '', '', '', (g % 997 + 1) * 100000, (g % 997 + 1) * 10000, 0, 0, (g % 997 + 1) * 110000, '', '[]',
  jsonb_build_object(),
  CASE WHEN g %% 20 = 0 AND g > %(linked)s THEN 'redundant' ELSE 'imported' END,
  md5(g::text) || md5('x' || g), false, false, '', '', '', '', now(), now(), %(file)s,
  'VND', false, '', '[]', '', 'unchecked', 'unchecked', jsonb_build_object(), ''
FROM generate_series(1, %(invoices)s) g;
INSERT INTO pr (id, name, type, amount, currency, note, status, bank_name, bank_account, account_name,
  payment_reference, completed_at, created_at, updated_at, maker_id, payee_bank_account, payee_bank_name,
  payee_account_name, payee_tax_code, payee_is_new, previous_bank_name, previous_bank_account, previous_account_name)
SELECT g, 'PR ' || g, CASE WHEN g > %(direct)s THEN 'advanced' ELSE 'direct' END, (g % 991 + 1) * 330000, 'VND', '',
  (ARRAY['draft','pending','approved','completed','completed'])[g % 5 + 1], '', '', '', '',
  CASE WHEN g % 5 >= 3 THEN timestamptz '2025-01-03' + (g * 7919 % 700) * interval '1 day' END,
  timestamptz '2025-01-02' + (g * 7919 % 700) * interval '1 day', now(), %(maker)s,
  CASE WHEN g % 5 = 0 THEN '' ELSE '0071' || lpad(g::text, 9, '0') END, '', '', '', false, '', '', ''
FROM generate_series(1, %(prs)s) g;
INSERT INTO pr_invoice (id, linked_at, invoice_id, pr_id)
SELECT g, now(), g, (g - 1) % %(direct)s + 1 FROM generate_series(1, %(linked)s) g;
UPDATE invoices SET status = 'completed' FROM pr_invoice l JOIN pr ON pr.id = l.pr_id
 WHERE l.invoice_id = invoices.id AND pr.status = 'completed';
INSERT INTO approval (id, current_step, created_at, updated_at, flow_id)
SELECT pr.id, CASE pr.status WHEN 'draft' THEN 0 WHEN 'pending' THEN 1 + pr.id % 2 ELSE 2 END,
  pr.created_at, now(), pr.id % 3 + 1 FROM pr;
UPDATE pr SET approval_id = pr.id;
INSERT INTO approval_steps (id, number, name, mode, approval_id)
SELECT (a.id - 1) * 2 + s, s, 'Bước ' || s, 'anyof', a.id FROM approval a, generate_series(1, 2) s;
INSERT INTO approval_step_users (id, step_id, user_id, added_at)
SELECT (st.id - 1) * 2 + k, st.id, (%(users)s)[(st.id + k) % %(n_users)s + 1], now()
FROM approval_steps st, generate_series(1, 2) k;
INSERT INTO audit (action, table_name, record_id, actor, actor_user_id, occurred_at, user_agent, metadata, checksum)
SELECT 'request_approval', 'pr', pr.id::text, 'bench', %(maker)s, pr.created_at + interval '1 hour', '',
  jsonb_build_object(), ''
FROM pr WHERE pr.status <> 'draft';
INSERT INTO approval_records (approved_at, acted_by_id, approval_id, approver_id, step_id)
SELECT pr.created_at + interval '1 hour' + st.number * (1 + pr.id % 48) * interval '1 hour',
  su.user_id, st.approval_id, su.user_id, st.id
FROM approval_steps st JOIN approval a ON a.id = st.approval_id JOIN pr ON pr.approval_id = a.id
JOIN approval_step_users su ON su.step_id = st.id AND su.id = (st.id - 1) * 2 + 1
WHERE pr.status IN ('approved', 'completed') OR (pr.status = 'pending' AND st.number < a.current_step);
INSERT INTO audit (action, table_name, record_id, actor, occurred_at, user_agent, metadata, checksum)
SELECT 'INSERT', (ARRAY['invoices','pr','pr_invoice'])[g % 3 + 1], (g % 100000)::text, 'bench',
  timestamptz '2025-01-01' + g * interval '1 minute', '', jsonb_build_object(), ''
FROM generate_series(1, 300000) g;
SET session_replication_role = origin;
"""
SEQUENCES = [
    "approval_flows",
    "invoices",
    "pr",
    "pr_invoice",
    "approval",
    "approval_steps",
    "approval_step_users",
    "approval_records",
    "audit",
]


def setup_django() -> None:
    if not os.environ.get("PGURI"):
        sys.exit("Set PGURI to a database of your own (see the docstring).")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def users() -> tuple[object, list[int]]:
    from accounts.models import Role, User, UserRole

    def make(email: str, role: str) -> User:
        user, created = User.objects.get_or_create(email=email, defaults={"name": email.split("@")[0]})
        if created:
            user.set_unusable_password()
            user.save()
            UserRole.objects.get_or_create(user=user, role=Role.objects.get(name=role))
        return user

    maker = make("bench-maker@acountee.test", "finance")
    approvers = [make(f"bench-approver-{i}@acountee.test", "bod").pk for i in range(N_USERS)]
    return maker, approvers


def seed(force: bool) -> None:
    from django.db import connection

    from invoices.models import Invoice
    from tests.files.factories import stored_file

    if not force and Invoice.objects.count() >= N_INVOICES:
        print(f"reusing the seeded data ({Invoice.objects.count()} invoices)")
        return
    maker, approvers = users()
    file = stored_file(content=b"<HDon>bench</HDon>")
    sql = (
        SEED_SQL.replace("%(", "{")
        .replace(")s", "}")
        .replace("%%", "%")
        .format(
            suppliers=N_SUPPLIERS,
            linked=N_LINKED,
            file=file.pk,
            invoices=N_INVOICES,
            direct=N_PRS - N_ADVANCED,
            maker=maker.pk,
            prs=N_PRS,
            users="ARRAY[" + ",".join(map(str, approvers)) + "]::bigint[]",
            n_users=len(approvers),
        )
    )
    started = time.perf_counter()
    # The approval timing facts of the seeded chains, derived as the migration derives them for existing data.
    backfill = import_module("payments.migrations.0011_approval_timing_backfill")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        cursor.execute(backfill.CHAINS)
        cursor.execute(backfill.STEPS)
        for table in SEQUENCES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                f"GREATEST((SELECT max(id) FROM {table}), 1))"
            )
        cursor.execute("VACUUM ANALYZE")
    print(f"seeded in {time.perf_counter() - started:.1f} s")


def measure(runs: int) -> None:
    from django.http import QueryDict
    from rest_framework.test import APIClient

    from accounts.services import api_token_create
    from payments.reports import queries, registry
    from payments.reports.params import today

    cases = [
        ("payables-by-month", "from=2025-01&to=2026-12"),
        ("payables-by-supplier", "top=10"),
        ("payables-by-supplier", "from=2025-06-01&to=2025-12-31&top=100"),
        ("aging", "as_of=2026-12-01"),
        ("approval-cycle-time", ""),
    ]
    owner = __import__("accounts.models", fromlist=["User"]).User.objects.filter(user_roles__role__name="owner").first()
    client = None
    if owner is None:
        maker, _ = users()
        from accounts.models import Role, UserRole

        UserRole.objects.get_or_create(user=maker, role=Role.objects.get(name="owner"))
        owner = maker
    _token, key = api_token_create(user=owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    from invoices.models import Invoice
    from payments.models import PaymentRequest

    print(
        f"data: {Invoice.objects.count()} invoices, {PaymentRequest.objects.count()} PRs; "
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"{'report':<48} {'median ms':>10} {'max ms':>8} {'API median ms':>14}")
    for key_, query in [*cases, ("home", "")]:
        times, api_times = [], []
        for _ in range(runs):
            started = time.perf_counter()
            if key_ == "home":
                queries.home_summary(today=today())
            else:
                registry.REPORTS[key_].run(QueryDict(query))
            times.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            response = client.get(f"/api/reports/{key_}/" + (f"?{query}" if query else ""))
            api_times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:300]
        label = f"{key_} {query}".strip()
        print(f"{label:<48} {statistics.median(times):>10.1f} {max(times):>8.1f} {statistics.median(api_times):>14.1f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    setup_django()
    seed(args.reseed)
    measure(args.runs)


if __name__ == "__main__":
    main()
