"""Load bench (issue 11): the production server under a realistic mix, and the framework floor.

    .venv/bin/python bench/load.py                       # 16 clients, 60 s, scratch DB `load_bench`
    .venv/bin/python bench/load.py --clients 16 --duration 60 --prs 5000 --invoices 5000 --files 300
    .venv/bin/python bench/load.py --reseed              # drop and seed the scratch database again

1. Database: a scratch database on the local PostgreSQL 15 (`--pg`, default
   postgres://postgres@127.0.0.1:5432, database `--db`), migrated and seeded once (kept
   between runs; `--reseed` starts over): PRs in every state with two-step chains (each of the
   N approvers has pending approvals), invoices imported through the real import service, some
   linked to direct PRs, PDF attachments.
2. Server: gunicorn exactly as `make serve` starts it (`acountee.wsgi:application`, `--workers`
   / `--threads` default to WEB_WORKERS / WEB_THREADS or 3 / 4, `--timeout 60`) with
   ACOUNTEE_ENV=production. Only the settings module differs: `bench/load_settings.py` is the
   production settings plus one route, the floor (`bench/floor_urls.py`). The bench plays the
   TLS proxy: `SECURE_PROXY_SSL_HEADER` is configured and clients send `X-Forwarded-Proto: https`.
3. Mix (`--duration` s after a warm-up): N client threads (stdlib http.client, keep-alive,
   token auth, no think time by default: a closed loop, so the figures are a stress, not a day at the office)
   list and filter PRs and invoices, open details, approve their own queue, import small ZIPs of
   new invoices and download files. Any answer other than the expected 2xx is an error.
4. Compare (`--compare-duration` s): all clients on the PR list only, then all on the floor,
   alternating in short rounds so machine noise hits both alike; prints the throughput ratio,
   and the PR list's service time (one client alone, no queueing).
   `--think-ms` adds a mean pause between each client's requests in the mix (default 0).

Prints throughput, p50/p95/p99 per operation, errors, and the gunicorn tree's peak memory
(psutil, RSS summed over master and workers). Asserts nothing; exit status 1 when errors > 0.
The machine is small and shared: figures measured under others' load are pessimistic.
"""

# ruff: noqa: S603, S607, S311 - fixed commands (psql, gunicorn); seeded pseudo-random data, not secrets
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PR_NAMES = [
    "Thanh toán tiền điện tháng {m}",
    "Tạm ứng công tác phí Đà Nẵng",
    "Thanh toán văn phòng phẩm quý {q}",
    "Thanh toán cước viễn thông tháng {m}",
    "Tạm ứng mua vật tư kỹ thuật",
    "Thanh toán phí bảo trì phần mềm",
    "Thanh toán tiền thuê văn phòng tháng {m}",
    "Tạm ứng tiếp khách đối tác",
    "Thanh toán dịch vụ vệ sinh",
]
SEARCH_WORDS = ["điện", "Tạm ứng", "phần mềm", "văn phòng", "viễn thông"]
OWNER_EMAIL = "load-owner@bench.local"


# --- configuration ----------------------------------------------------------------------------------
def server_env(pguri: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ACOUNTEE_ENV": "production",
            "DEBUG": "false",
            "PGURI": pguri,
            "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_urlsafe(50),
            # production requires the audit chain's key; one fixed key keeps the scratch DB's seals verifiable
            "AUDIT_CHAIN_KEY": env.get("AUDIT_CHAIN_KEY") or "bench-load-audit-chain-key-not-a-secret",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # The bench is the TLS-terminating proxy: it sends X-Forwarded-Proto: https.
            "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def ensure_database(pg: str, db: str, reseed: bool) -> bool:
    """Creates the scratch database when missing (or again with --reseed); True when it is new."""
    parsed = urllib.parse.urlparse(pg)
    args = ["-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]
    listed = subprocess.run(
        ["psql", *args, "-tAc", "select datname from pg_database"], capture_output=True, text=True, check=True
    ).stdout.split()
    exists = db in listed
    if exists and not reseed:
        return False
    if exists:
        subprocess.run(["dropdb", *args, "--force", db], check=True)
    subprocess.run(["createdb", *args, db], check=True)
    return True


# --- seeding (in this process, through Django with the production settings) ----------------------------
@dataclass
class Seed:
    finance_tokens: list[str]
    approver_tokens: list[str]
    pr_ids: list[int]
    invoice_ids: list[int]
    file_ids: list[int]
    maker_ids: list[int]
    tax_codes: list[str]
    months: list[str]
    series: str


def seed(*, prs: int, invoices: int, files: int, approvers: int, fresh: bool) -> Seed:
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.models import Role, User, UserRole
    from accounts.services import api_token_create
    from invoices.models import Invoice
    from payments.models import PaymentRequest, PRAttachment

    call_command("migrate", verbosity=0, interactive=False)

    def user(email: str, role: str) -> Any:
        found = User.objects.filter(email=email).first()
        if found is None:
            found = User.objects.create_user(email=email, password=None, name=email.split("@")[0])
            UserRole.objects.create(user=found, role=Role.objects.get(name=role))
        return found

    fresh = fresh or not User.objects.filter(email=OWNER_EMAIL).exists()
    owner = user(OWNER_EMAIL, "owner")
    makers = [user(f"load-finance-{i}@bench.local", "finance") for i in range(4)]
    bods = [user(f"load-approver-{i}@bench.local", "bod") for i in range(approvers)]
    if fresh:
        started = time.perf_counter()
        seed_files(files, owner)
        seed_invoices(invoices, owner)
        seed_prs(prs, makers, bods)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    elif not PaymentRequest.objects.filter(approval__steps__step_users__user=bods[-1]).exists() or (
        PaymentRequest.objects.filter(status="pending").count() < 40 * approvers
    ):
        # More clients than last time, or earlier runs approved most queues: top the queues up.
        with transaction.atomic():
            seed_prs(max(prs // 4, 50 * approvers), makers, bods)

    attachment_files = list(PRAttachment.objects.values_list("file_id", flat=True).distinct()[:2000])
    source_files = list(Invoice.objects.values_list("source_file_id", flat=True)[:2000])
    return Seed(
        finance_tokens=[api_token_create(user=makers[i % len(makers)])[1] for i in range(approvers)],
        approver_tokens=[api_token_create(user=b)[1] for b in bods],
        pr_ids=list(PaymentRequest.objects.values_list("pk", flat=True)),
        invoice_ids=list(Invoice.objects.values_list("pk", flat=True)),
        file_ids=attachment_files + source_files,
        maker_ids=[m.pk for m in makers],
        tax_codes=list(Invoice.objects.values_list("seller_tax_code", flat=True).distinct()[:20]),
        months=sorted({d.strftime("%Y-%m") for d in Invoice.objects.values_list("issue_date", flat=True)[:3000]}),
        series="C26" + "".join(random.SystemRandom().choice("ABCDEFGHKLMNPQRSTUVXY") for _ in range(3)),
    )


def seed_files(n: int, owner: Any) -> None:
    from files.services import stored_file_create

    rng = random.Random(11)
    for i in range(n):
        size = rng.choice([20_000, 60_000, 150_000, 300_000])
        content = b"%PDF-1.4\n" + rng.randbytes(size) + b"\n%%EOF\n"
        stored_file_create(content=content, name=f"chung-tu-{i:04d}.pdf", created_by=owner)


def seed_invoices(n: int, owner: Any) -> None:
    from invoices.samples import make_invoice
    from invoices.services import invoices_import

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(1, n + 1):
            sample = make_invoice(number, series="C26LOA", rng=random.Random(number))
            archive.writestr(sample.name, sample.content)
    started = time.perf_counter()
    report = invoices_import(uploads=[("seed.zip", buffer.getvalue())], actor=owner)
    print(f"seed: imported {n} invoices {report.counts()} in {time.perf_counter() - started:.0f} s", flush=True)


def seed_prs(n: int, makers: list[Any], bods: list[Any]) -> None:
    """n PRs in every state, each with a two-step anyof chain naming one approver per step
    (step 2 another one), written in bulk: the set-up is not what is measured."""
    from decimal import Decimal

    from django.db import connection, transaction
    from django.utils import timezone

    from approvals.models import Approval, ApprovalRecord, ApprovalStep, ApprovalStepUser
    from files.models import StoredFile
    from invoices.models import Invoice
    from payments.models import PaymentRequest, PRAttachment, PRInvoice

    rng = random.Random(n)
    states = ["draft"] * 2 + ["pending"] * 4 + ["approved"] * 2 + ["completed"] * 2
    free_invoices = list(Invoice.objects.filter(pr_link__isnull=True).values_list("pk", flat=True))
    pdfs = list(StoredFile.objects.filter(original_name__startswith="chung-tu-").values_list("pk", flat=True))
    nb = len(bods)
    with transaction.atomic():
        rows, plan = [], []
        for k in range(n):
            status = states[k % len(states)]
            direct = k % 3 == 0 and len(free_invoices) >= 3
            links = [free_invoices.pop() for _ in range(rng.randint(1, 3))] if direct else []
            first = bods[k % nb]
            second = bods[(k + 1 + (k // nb) % (nb - 1)) % nb] if nb > 1 else first
            rows.append(
                PaymentRequest(
                    name=rng.choice(PR_NAMES).format(m=rng.randint(1, 12), q=rng.randint(1, 4)),
                    type="direct" if direct else "advanced",
                    amount=Decimal(rng.randrange(500_000, 900_000_000, 1000)),
                    maker=makers[k % len(makers)],
                    status=status,
                    bank_name="" if direct else "Vietcombank",
                    bank_account="" if direct else "0071000123456",
                    account_name="" if direct else "CONG TY TNHH ABC",
                    # a submitted request carries its frozen payee (docs/controls.md, PAYEE-FROZEN)
                    payee_bank_account="" if status == "draft" else "0451000123456" if links else "0071000123456",
                    payment_reference=f"FT26{k:08d}" if status == "completed" else "",
                    completed_at=timezone.now() if status == "completed" else None,
                )
            )
            at_step = {"draft": 0, "pending": rng.choice([1, 1, 2]), "approved": 2, "completed": 2}[status]
            rows[-1].approval = Approval(current_step=at_step)
            plan.append((first, second, at_step, links, status))
        # the chains first (bulk_create gives them their ids): each request points at its own
        approvals = Approval.objects.bulk_create([pr.approval for pr in rows], batch_size=2000)
        prs = PaymentRequest.objects.bulk_create(rows, batch_size=2000)
        steps = ApprovalStep.objects.bulk_create(
            [
                ApprovalStep(approval=a, number=num, name=name, mode="anyof")
                for a in approvals
                for num, name in ((1, "Kế toán trưởng"), (2, "Giám đốc"))
            ],
            batch_size=4000,
        )
        step_users, records, links, attachments = [], [], [], []
        for i, (pr, (first, second, at_step, invoice_ids, status)) in enumerate(zip(prs, plan, strict=True)):
            s1, s2 = steps[2 * i], steps[2 * i + 1]
            step_users += [ApprovalStepUser(step=s1, user=first), ApprovalStepUser(step=s2, user=second)]
            done = [s1, s2] if status in ("approved", "completed") else [s1] if at_step == 2 else []
            records += [
                ApprovalRecord(approval=approvals[i], step=s, approver=u, acted_by=u)
                for s, u in zip(done, (first, second), strict=False)
            ]
            links += [PRInvoice(pr=pr, invoice_id=inv) for inv in invoice_ids]
            if pdfs and i % 3 == 1:
                attachments.append(PRAttachment(pr=pr, file_id=pdfs[i % len(pdfs)]))
        ApprovalStepUser.objects.bulk_create(step_users, batch_size=4000)
        ApprovalRecord.objects.bulk_create(records, batch_size=4000)
        PRInvoice.objects.bulk_create(links, batch_size=4000)
        PRAttachment.objects.bulk_create(attachments, batch_size=4000)
        completed = [inv for (_f, _s, _a, ids, st) in plan if st == "completed" for inv in ids]
        Invoice.objects.filter(pk__in=completed).update(status="completed")
        with connection.cursor() as cursor:  # spread creation over half a year (the month filter)
            cursor.execute(
                "UPDATE pr SET created_at = now() - random() * interval '180 days' WHERE id = ANY(%s)",
                [[pr.pk for pr in prs]],
            )
    print(
        f"seed: {n} PRs ({', '.join(sorted(set(states)))}), {len(links)} invoice links, {len(attachments)} attachments",
        flush=True,
    )


# --- server ------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    env = {**env, "DJANGO_SETTINGS_MODULE": "bench.load_settings"}
    # The command line of `make serve` (Makefile), minus make itself.
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "acountee.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "60",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited ({server.returncode}); see {log}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    sys.exit(f"gunicorn did not answer within 60 s; see {log}")


def server_cpu_seconds(server_pid: int, db: str) -> tuple[float, float]:
    """CPU time (user + system) used so far by the gunicorn tree and by the PostgreSQL backends
    of the scratch database: what requests cost the machine, whatever else runs on it."""
    import psutil

    procs = []
    try:
        root = psutil.Process(server_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        pass
    for proc in psutil.process_iter(["cmdline"]):
        title = " ".join(proc.info.get("cmdline") or [])
        if title.startswith("postgres: ") and f" {db} " in title:  # a backend's process title names its database
            procs.append(proc)
    totals = [0.0, 0.0]
    for proc in procs:
        try:
            times = proc.cpu_times()
            totals[proc.name().startswith("postgres")] += times.user + times.system
        except psutil.Error:
            continue
    return totals[0], totals[1]


class MemorySampler(threading.Thread):
    """Peak RSS of the gunicorn tree (master + workers), sampled every 200 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.peak_total = 0
        self.peak_worker = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            total = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                for proc in procs:
                    try:
                        rss = proc.memory_info().rss
                    except psutil.Error:
                        continue
                    total += rss
                    if proc.pid != self.root.pid:
                        self.peak_worker = max(self.peak_worker, rss)
            except psutil.Error:
                pass
            self.peak_total = max(self.peak_total, total)
            self.stop.wait(0.2)


# --- clients -----------------------------------------------------------------------------------------
@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)

    def merge(self, other: Stats) -> None:
        for op, values in other.latencies.items():
            self.latencies[op].extend(values)
        for op, count in other.errors.items():
            self.errors[op] += count
        self.samples.extend(other.samples[: max(0, 10 - len(self.samples))])


class Client:
    def __init__(self, index: int, port: int, seed: Seed, rng_seed: int):
        self.index = index
        self.port = port
        self.seed = seed
        self.rng = random.Random(rng_seed)  # the request mix
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        common = {"X-Forwarded-Proto": "https", "Accept": "application/json", "Host": "127.0.0.1"}
        self.finance = {**common, "Authorization": f"Token {seed.finance_tokens[index]}"}
        self.approver = {**common, "Authorization": f"Token {seed.approver_tokens[index]}"}
        self.queue: list[tuple[int, int]] = []
        self.import_counter = 0
        self.stats = Stats()

    def call(
        self,
        op: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> bytes | None:
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                status: Any = response.status
                break
            except (OSError, http.client.HTTPException) as exc:
                data, status = b"", f"{type(exc).__name__}: {exc}"
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                # The server closed a kept-alive connection while it sat idle (gunicorn's
                # --keep-alive, 2 s) before reading the request: retry once on a new one, as
                # browsers and HTTP libraries do. Anything else, or a second failure, is an error.
                stale = isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError)
                if not (stale and attempt == 1):
                    break
        self.stats.latencies[op].append(time.perf_counter() - started)
        if status not in expect:
            self.stats.errors[op] += 1
            if len(self.stats.samples) < 10:
                self.stats.samples.append(f"{op} {method} {path} -> {status} {data[:200]!r}")
            return None
        return data

    # one realistic operation, picked by weight
    def step(self) -> None:
        rng, s = self.rng, self.seed
        roll = rng.random() * 100
        if roll < 22:
            self.call("pr_list", "GET", f"/api/payment-requests/?page_size=50&page={rng.randint(1, 10)}", self.finance)
        elif roll < 34:
            query = rng.choice(
                [
                    "status=pending",
                    "status=approved&status=completed",
                    "type=direct",
                    f"maker={rng.choice(s.maker_ids)}",
                    "q=" + urllib.parse.quote(rng.choice(SEARCH_WORDS)),
                    f"month={time.strftime('%Y-%m', time.gmtime(time.time() - rng.randint(0, 150) * 86400))}",
                ]
            )
            self.call("pr_list_filter", "GET", f"/api/payment-requests/?page_size=50&{query}", self.finance)
        elif roll < 48:
            self.call("pr_detail", "GET", f"/api/payment-requests/{rng.choice(s.pr_ids)}/", self.finance)
        elif roll < 60:
            self.call("invoice_list", "GET", f"/api/invoices/?page_size=50&page={rng.randint(1, 10)}", self.finance)
        elif roll < 70:
            query = rng.choice(
                [
                    "status=imported",
                    f"month={rng.choice(s.months)}",
                    f"supplier_tax_code={rng.choice(s.tax_codes)}",
                    "linked=false",
                    "amount_min=10000000",
                    "q=" + urllib.parse.quote("CÔNG TY"),
                ]
            )
            self.call("invoice_list_filter", "GET", f"/api/invoices/?page_size=50&{query}", self.finance)
        elif roll < 80:
            self.call("invoice_detail", "GET", f"/api/invoices/{rng.choice(s.invoice_ids)}/", self.finance)
        elif roll < 88:
            self.approve()
        elif roll < 96:
            self.call("file_download", "GET", f"/api/files/{rng.choice(s.file_ids)}/content/", self.finance)
        else:
            self.import_zip()

    def approve(self) -> None:
        if not self.queue:
            data = self.call(
                "pr_awaiting", "GET", "/api/payment-requests/?awaiting_me=true&page_size=20", self.approver
            )
            if data:
                self.queue = [(row["id"], row["current_step"]) for row in json.loads(data)["results"]]
                self.rng.shuffle(self.queue)
            if not self.queue:
                return
        pk, step = self.queue.pop()
        body = json.dumps({"step": step}).encode()
        self.call(
            "pr_approve",
            "POST",
            f"/api/payment-requests/{pk}/approve/",
            {**self.approver, "Content-Type": "application/json"},
            body,
        )

    def import_zip(self) -> None:
        from invoices.samples import make_invoice

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for _ in range(3):
                self.import_counter += 1
                number = 10_000_000 + self.index * 1_000_000 + self.import_counter
                sample = make_invoice(number, series=self.seed.series, rng=random.Random(number))
                archive.writestr(sample.name, sample.content)
        boundary = secrets.token_hex(12)
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="batch.zip"\r\n'
            "Content-Type: application/zip\r\n\r\n"
        )
        body = head.encode() + buffer.getvalue() + f"\r\n--{boundary}--\r\n".encode()
        data = self.call(
            "invoice_import",
            "POST",
            "/api/invoices/import/",
            {**self.finance, "Content-Type": f"multipart/form-data; boundary={boundary}"},
            body,
        )
        if data is not None and json.loads(data)["summary"].get("failure"):
            self.stats.errors["invoice_import"] += 1
            if len(self.stats.samples) < 10:
                self.stats.samples.append(f"invoice_import: entries failed {data[:300]!r}")

    def list_only(self, floor: bool, page: int) -> None:
        path = "/bench/floor/payment-requests/" if floor else "/api/payment-requests/"
        self.call("floor" if floor else "pr_list", "GET", f"{path}?page_size=50&page={page}", self.finance)


def run_phase(clients: list[Client], seconds: float, work: Any, think: float = 0.0) -> tuple[Stats, float]:
    """All clients loop on `work(client)` for `seconds`, pausing a random think time (exponential,
    mean `think` seconds) after each; returns their merged stats and the wall time."""
    for client in clients:
        client.stats = Stats()
    stop = time.monotonic() + seconds

    def loop(client: Client) -> None:
        while time.monotonic() < stop:
            work(client)
            if think:
                time.sleep(client.rng.expovariate(1 / think))

    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    merged = Stats()
    for client in clients:
        merged.merge(client.stats)
    return merged, wall


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000


def report(title: str, stats: Stats, wall: float) -> None:
    total = sum(len(v) for v in stats.latencies.values())
    errors = sum(stats.errors.values())
    print(f"\n{title}: {total} requests in {wall:.1f} s = {total / wall:.1f} req/s, errors {errors}")
    print(
        f"  {'operation':<20}{'count':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>7}"
    )
    for op in sorted(stats.latencies):
        values = stats.latencies[op]
        print(
            f"  {op:<20}{len(values):>7}{len(values) / wall:>8.1f}{pct(values, 0.50):>9.1f}{pct(values, 0.95):>9.1f}"
            f"{pct(values, 0.99):>9.1f}{max(values) * 1000:>9.1f}{stats.errors.get(op, 0):>7}"
        )
    for sample in stats.samples:
        print(f"  error: {sample}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the mix")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--think-ms", type=float, default=0.0, help="mean pause between a client's requests in the mix")
    parser.add_argument("--compare-duration", type=float, default=40.0, help="seconds of PR list + floor, in total")
    parser.add_argument("--compare-rounds", type=int, default=4)
    parser.add_argument("--prs", type=int, default=5000)
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "3")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="load_bench")
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()

    pguri = f"{args.pg.rstrip('/')}/{args.db}"
    env = server_env(pguri)
    fresh = ensure_database(args.pg, args.db, args.reseed)
    os.environ.update(
        {
            k: env[k]
            for k in (
                "ACOUNTEE_ENV",
                "DEBUG",
                "PGURI",
                "SECRET_KEY",
                "AUDIT_CHAIN_KEY",
                "ALLOWED_HOSTS",
                "SECURE_PROXY_SSL_HEADER",
                "LOG_LEVEL",
            )
        }
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "acountee.settings"
    import django

    django.setup()
    data = seed(prs=args.prs, invoices=args.invoices, files=args.files, approvers=args.clients, fresh=fresh)
    from django.db import connections

    connections.close_all()

    log = Path(tempfile.gettempdir()) / f"load-bench-gunicorn-{os.getpid()}.log"
    port = free_port()
    server = start_server(env, port, args.workers, args.threads, log)
    sampler = MemorySampler(server.pid)
    sampler.start()
    load = os.getloadavg()[0]
    print(
        f"server: gunicorn --workers {args.workers} --threads {args.threads} on :{port} (log {log}); "
        f"{len(data.pr_ids)} PRs, {len(data.invoice_ids)} invoices, {len(data.file_ids)} downloadable files; "
        f"{args.clients} clients; load average {load:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    try:
        clients = [Client(i, port, data, rng_seed=1000 + i) for i in range(args.clients)]
        think = args.think_ms / 1000
        run_phase(clients, args.warmup, Client.step, think)
        cpu_before, client_before = server_cpu_seconds(server.pid, args.db), time.process_time()
        mix, mix_wall = run_phase(clients, args.duration, Client.step, think)
        cpu_after, client_cpu = server_cpu_seconds(server.pid, args.db), time.process_time() - client_before
        report(f"mix ({args.clients} clients, {args.duration:.0f} s, think time {args.think_ms:.0f} ms)", mix, mix_wall)
        requests = sum(len(v) for v in mix.latencies.values())
        print(
            f"  CPU per request of the mix: gunicorn {(cpu_after[0] - cpu_before[0]) / requests * 1000:.1f} ms, "
            f"PostgreSQL {(cpu_after[1] - cpu_before[1]) / requests * 1000:.1f} ms, "
            f"this client (ZIP generation included) {client_cpu / requests * 1000:.1f} ms"
        )

        # Service time: the PR list with nobody else asking (latency without queueing).
        alone, alone_wall = run_phase(clients[:1], 3.0, lambda c: c.list_only(False, c.rng.randint(1, 10)))
        report("PR list, 1 client (service time)", alone, alone_wall)

        slice_seconds = args.compare_duration / (2 * args.compare_rounds)
        lists, floors, list_wall, floor_wall = Stats(), Stats(), 0.0, 0.0
        list_cpu, floor_cpu = [0.0, 0.0], [0.0, 0.0]  # [gunicorn, PostgreSQL] seconds
        for _ in range(args.compare_rounds):
            for floor, stats_sum, cpu_sum in ((False, lists, list_cpu), (True, floors, floor_cpu)):
                before = server_cpu_seconds(server.pid, args.db)
                stats, wall = run_phase(clients, slice_seconds, lambda c, f=floor: c.list_only(f, c.rng.randint(1, 10)))
                after = server_cpu_seconds(server.pid, args.db)
                stats_sum.merge(stats)
                cpu_sum[0] += after[0] - before[0]
                cpu_sum[1] += after[1] - before[1]
                if floor:
                    floor_wall += wall
                else:
                    list_wall += wall
        report("PR list alone", lists, list_wall)
        report("framework floor (values() + JsonResponse, same rows, same token auth)", floors, floor_wall)
        list_count, floor_count = len(lists.latencies["pr_list"]), len(floors.latencies["floor"])
        list_rate, floor_rate = list_count / list_wall, floor_count / floor_wall
        list_ms, floor_ms = sum(list_cpu) / list_count * 1000, sum(floor_cpu) / floor_count * 1000
        cores = os.cpu_count() or 1
        sampler.stop.set()
        sampler.join()
        errors = sum(st.errors.get(op, 0) for st in (mix, alone, lists, floors) for op in st.errors)
        print(
            f"\nPR list / floor throughput: {list_rate:.1f} / {floor_rate:.1f} req/s = {list_rate / floor_rate:.0%}"
            f"  (target >= 50%)"
        )
        print(
            f"server CPU per request: PR list {list_ms:.1f} ms (gunicorn {list_cpu[0] / list_count * 1000:.1f} + "
            f"PostgreSQL {list_cpu[1] / list_count * 1000:.1f}), floor {floor_ms:.1f} ms (gunicorn "
            f"{floor_cpu[0] / floor_count * 1000:.1f} + PostgreSQL {floor_cpu[1] / floor_count * 1000:.1f}) = "
            f"{floor_ms / list_ms:.0%}; on {cores} dedicated cores that caps the PR list at "
            f"{cores * 1000 / list_ms:.0f} req/s, i.e. >= {args.clients * list_ms / cores:.0f} ms mean latency "
            f"for {args.clients} clients without think time"
        )
        print(
            f"PR list p95 in the mix: {pct(mix.latencies['pr_list'], 0.95):.1f} ms, alone: "
            f"{pct(lists.latencies['pr_list'], 0.95):.1f} ms  (target <= 100 ms at {args.clients} clients)"
        )
        print(f"errors: {errors}  (target 0)")
        print(
            f"server peak memory: {sampler.peak_total / 2**20:.0f} MB RSS over the gunicorn tree "
            f"({args.workers} workers + master), largest process {sampler.peak_worker / 2**20:.0f} MB"
        )
        print(f"load average now {os.getloadavg()[0]:.1f} (at start {load:.1f}) on {os.cpu_count()} CPUs")
    finally:
        sampler.stop.set()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
