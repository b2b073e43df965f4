"""The measurements of `bench/scale.py` (one size per process: PGURI names its database) and the report."""

from __future__ import annotations

import io
import json
import random
import statistics
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

# What each target is (docs/performance.md): "wait" rows must be ≤ 100 ms p95 and ≤ 2x their 10k figure,
# "report" rows ≤ 500 ms p95.
KIND_WAIT, KIND_REPORT, KIND_OTHER = "wait", "report", "other"
MARK_BEGIN, MARK_END = "<!-- scale-table:begin -->", "<!-- scale-table:end -->"
DATA_BEGIN, DATA_END = "<!-- scale-data:begin -->", "<!-- scale-data:end -->"
VERDICT_BEGIN, VERDICT_END = "<!-- scale-verdict:begin -->", "<!-- scale-verdict:end -->"


def _between(text: str, begin: str, end: str, inner: str) -> str:
    head, sep, rest = text.partition(begin)
    if not sep:
        return f"{text}\n{begin}\n{inner}\n{end}\n"
    _old, _sep, tail = rest.partition(end)
    return f"{head}{begin}\n{inner}\n{end}{tail}"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def _setup() -> None:
    import django

    django.setup()


def _users() -> dict[str, Any]:
    from accounts.demo import DEMO_USERS
    from accounts.models import User

    return {email.split("@")[0]: User.objects.with_email(email).get() for email, *_ in DEMO_USERS}


def _api(user: Any) -> Any:
    from rest_framework.test import APIClient

    from accounts.services import api_token_create

    _token, key = api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _admin(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _pick(sql: str) -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
        return row[0] if row else None


def cases() -> list[tuple[str, str, Any, str]]:
    """(label, kind, client, url) for everything measured p50/p95."""
    users = _users()
    owner, finance, bod = _api(users["owner"]), _api(users["ketoan"]), _api(users["giamdoc"])
    month = _pick("SELECT to_char(max(issue_date) - 400, 'YYYY-MM') FROM invoices")
    # A supplier of the multiplied set (2,000 of them): two words of its name.
    supplier = "minh thiết bị"
    pr_id = _pick("SELECT id FROM pr WHERE status = 'pending' ORDER BY id OFFSET (SELECT count(*) / 2 FROM pr"
                  " WHERE status = 'pending') LIMIT 1")  # fmt: skip
    invoice_id = _pick("SELECT invoice_id FROM pr_invoice ORDER BY id OFFSET (SELECT count(*) / 2 FROM pr_invoice)"
                       " LIMIT 1")  # fmt: skip
    export_month = _pick("SELECT to_char(max(created_at), 'YYYY-MM') FROM pr WHERE status = 'approved'")
    out: list[tuple[str, str, Any, str]] = [
        ("API invoice list (default)", KIND_WAIT, finance, "/api/invoices/"),
        ("API invoice list, status + month", KIND_WAIT, finance, f"/api/invoices/?status=imported&month={month}"),
        ("API invoice list, supplier words", KIND_WAIT, finance, f"/api/invoices/?q={supplier}"),
        ("API invoice list, page 200", KIND_WAIT, finance, "/api/invoices/?page=200"),
        ("API PR list (default)", KIND_WAIT, finance, "/api/payment-requests/"),
        ("API PR list, awaiting_me (bod)", KIND_WAIT, bod, "/api/payment-requests/?awaiting_me=true"),
        ("API PR detail", KIND_WAIT, finance, f"/api/payment-requests/{pr_id}/"),
        ("API invoice detail", KIND_WAIT, finance, f"/api/invoices/{invoice_id}/"),
    ]
    for name in ("owner", "ketoan", "quantri", "giamdoc"):
        out.append((f"admin home as {name}", KIND_WAIT, _admin(users[name]), "/admin/"))
    admin = _admin(users["ketoan"])
    out += [
        ("admin invoice list", KIND_WAIT, admin, "/admin/invoices/invoice/"),
        ("admin invoice list, search", KIND_WAIT, admin, f"/admin/invoices/invoice/?q={supplier}"),
        ("admin PR list", KIND_WAIT, admin, "/admin/payments/paymentrequest/"),
        ("admin PR page", KIND_WAIT, admin, f"/admin/payments/paymentrequest/{pr_id}/change/"),
        ("admin invoice page", KIND_WAIT, admin, f"/admin/invoices/invoice/{invoice_id}/change/"),
    ]
    last = _pick("SELECT to_char(max(issue_date), 'YYYY-MM') FROM invoices")
    for key, query in [
        ("payables-by-month", ""),
        ("payables-by-supplier", ""),
        ("aging", ""),
        ("approval-cycle-time", ""),
        ("home", ""),
    ]:
        out.append((f"report {key}", KIND_REPORT, owner, f"/api/reports/{key}/" + (f"?{query}" if query else "")))
    del last
    out.append(("bank export, month (TTFB)", KIND_OTHER, finance, f"/api/workbench/export/?month={export_month}"))
    return out


def timed(client: Any, url: str) -> tuple[float, float, int, float]:
    """(time to first byte, total) in ms, the status, and the CPU time this process spent (ms): on a busy machine
    the wall time includes waiting for a core, the CPU time does not (the database's own time is in the wall)."""
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    if getattr(response, "streaming", False):
        chunks = iter(response.streaming_content)
        next(chunks, b"")
        ttfb = (time.perf_counter() - started) * 1000
        for _chunk in chunks:
            pass
    else:
        ttfb = (time.perf_counter() - started) * 1000
    total = (time.perf_counter() - started) * 1000
    return ttfb, total, response.status_code, (time.process_time() - cpu) * 1000


def measure_cases(runs: int) -> list[dict[str, Any]]:
    rows = []
    for label, kind, client, url in cases():
        _t, first, status, _c = timed(client, url)  # warm: the first request of a client pays imports and caches
        if status != 200:  # e.g. 503 when a statement outlives the database timeout: recorded, not retried
            rows.append({"label": label, "kind": kind, "url": url, "p50": first, "p95": first, "failed": status})
            print(f"  {label:<40} HTTP {status} after {first:.0f} ms", flush=True)
            continue
        ttfbs, totals, cpus = [], [], []
        for _ in range(runs):
            ttfb, total, status, cpu = timed(client, url)
            assert status == 200, (url, status)
            ttfbs.append(ttfb)
            totals.append(total)
            cpus.append(cpu)
        if "TTFB" in label:
            rows.append(_row(label, kind, url, ttfbs, cpus))
            rows.append(_row(label.replace("(TTFB)", "(total)"), kind, url, totals, cpus))
        else:
            rows.append(_row(label, kind, url, totals, cpus))
        print(f"  {rows[-1]['label']:<40} p50 {rows[-1]['p50']:>8.1f}  p95 {rows[-1]['p95']:>8.1f} ms", flush=True)
    return rows


def _row(label: str, kind: str, url: str, values: list[float], cpus: list[float]) -> dict[str, Any]:
    return {
        "label": label,
        "kind": kind,
        "url": url,
        "p50": statistics.median(values),
        "p95": pct(values, 95),
        "cpu_p50": statistics.median(cpus),
    }


def make_zip(path: Path, count: int) -> int:
    """bench/import.py's generator: `count` realistic unsigned invoices (1-20 lines, mixed rates) in one ZIP."""
    from invoices.samples import make_invoice

    start = random.SystemRandom().randrange(1, 10**7) * 100_000
    series = f"C26S{random.SystemRandom().randrange(10, 99)}"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(start, start + count):
            sample = make_invoice(number, series=series, rng=random.Random(number))  # noqa: S311
            archive.writestr(sample.name, sample.content)
    return count


class _Undo(Exception):
    pass


def measure_import(count: int) -> dict[str, Any]:
    """The import inside a transaction rolled back afterwards, so that the cached database keeps its size (the
    seal and deferred checks at commit are left out, here and for the empty-database figure alike)."""
    from django.db import transaction

    from invoices.services import invoices_import

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "invoices.zip"
        make_zip(path, count)
        try:
            with open(path, "rb") as upload, transaction.atomic():
                started, cpu = time.perf_counter(), time.process_time()
                report = invoices_import(uploads=[("invoices.zip", upload)], actor=None)
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                raise _Undo
        except _Undo:
            pass
    counts = report.counts()
    assert counts.get("success") == count, counts
    return {
        "label": f"import {count:,}-invoice ZIP",
        "kind": KIND_OTHER,
        "seconds": elapsed,
        "rate": count / elapsed,
        "cpu_rate": count / cpu,  # invoices per second of this process's CPU (parsing, checks, Django)
    }


def measure_verify(with_full: bool) -> dict[str, Any]:
    """`verify_audit --full` (every entry and seal; skipped with --no-verify, minutes at 1M) and the routine
    incremental run: 1,000 new semantic entries committed (a marker in the bench's own cached database),
    verified from the checkpoint the previous run recorded."""
    from django.core.management import call_command
    from django.db import transaction

    from audit.models import AuditEntry
    from audit.services import audit_log_many

    out: dict[str, Any] = {"label": "verify_audit", "kind": KIND_OTHER}
    if with_full:
        out["entries"] = AuditEntry.objects.count()
        started = time.perf_counter()
        call_command("verify_audit", "--full", stdout=io.StringIO())
        out["seconds"] = time.perf_counter() - started
    else:
        call_command("verify_audit", stdout=io.StringIO())  # a checkpoint to start from
    with transaction.atomic():
        audit_log_many(
            action="bench_marker", table="bench", actor=None, entries=[(i, {"run": "scale"}) for i in range(1000)]
        )
    started = time.perf_counter()
    call_command("verify_audit", stdout=io.StringIO())
    out["incremental_seconds"] = time.perf_counter() - started
    return out


def run(size: str, runs: int, with_import: bool, with_verify: bool, results: Path) -> None:
    _setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM invoices), (SELECT count(*) FROM invoice_services), (SELECT count(*) FROM"
            " pr), (SELECT count(*) FROM approval_records),"
            # the log is the largest table by far: its planner estimate (a count would read all of it)
            " (SELECT reltuples::bigint FROM pg_class WHERE oid = 'audit'::regclass),"
            " pg_database_size(current_database())"
        )
        invoices, lines, prs, records, audit, db_bytes = cursor.fetchone()
    print(f"{size}: {invoices:,} invoices, {lines:,} lines, {prs:,} PRs, {records:,} approval records,"
          f" {audit:,} audit entries, {db_bytes / 1e9:.1f} GB", flush=True)  # fmt: skip
    data: dict[str, Any] = json.loads(results.read_text()) if results.exists() else {}
    entry: dict[str, Any] = {
        "data": {
            "invoices": invoices,
            "lines": lines,
            "prs": prs,
            "records": records,
            "audit": audit,
            "gb": round(db_bytes / 1e9, 1),
        },
        "runs": runs,
        "rows": measure_cases(runs),
    }
    if with_import:
        entry["import"] = measure_import(10_000)
        print(f"  import: {entry['import']['seconds']:.1f} s = {entry['import']['rate']:.0f} invoices/s", flush=True)
    # A run without --full keeps the last full figure of this size (like a run without the import keeps its figure).
    entry["verify"] = {**data.get(size, {}).get("verify", {}), **measure_verify(with_verify)}
    v = entry["verify"]
    if "seconds" in v:
        print(f"  verify_audit --full: {v['seconds']:.1f} s for {v['entries']:,} entries", flush=True)
    print(f"  verify_audit, 1,000 new entries: {v['incremental_seconds']:.2f} s", flush=True)
    data[size] = {**data.get(size, {}), **entry}  # a run without the import or verify keeps the earlier figures
    results.write_text(json.dumps(data, indent=1))


def run_import_only(results: Path) -> None:
    """The 10,000-invoice import into the template alone (29 invoices): the empty-database figure."""
    _setup()
    data: dict[str, Any] = json.loads(results.read_text()) if results.exists() else {}
    data["empty"] = {"import": measure_import(10_000)}
    print(f"empty database: import {data['empty']['import']['rate']:.0f} invoices/s", flush=True)
    results.write_text(json.dumps(data, indent=1))


def report(data: dict[str, Any], docs: Path) -> None:
    sizes = [s for s in ("10k", "100k", "1m") if s in data]
    labels = [row["label"] for row in data[sizes[-1]]["rows"]]
    header = "| measured: p50 / p95 ms (app CPU p50) | " + " | ".join(sizes) + " | target at 1m |"
    lines = [header, "|---" * (len(sizes) + 2) + "|"]
    for label in labels:
        cells = []
        kind = "other"
        for size in sizes:
            row = next((r for r in data[size]["rows"] if r["label"] == label), None)
            cpu = f" ({row['cpu_p50']:.0f})" if row and "cpu_p50" in row else ""
            if row and row.get("failed"):
                cells.append(f"HTTP {row['failed']} after {row['p50']:.0f}")
            else:
                cells.append(f"{row['p50']:.0f} / {row['p95']:.0f}{cpu}" if row else "-")
            kind = row["kind"] if row else kind
        target = {"wait": "p95 ≤ 100, ≤ 2x 10k", "report": "p95 ≤ 500"}.get(kind, "")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    if any("import" in data[s] for s in sizes):
        cells = [
            f"{data[s]['import']['rate']:.0f} /s"
            + (f" ({data[s]['import']['cpu_rate']:.0f})" if "cpu_rate" in data[s]["import"] else "")
            if "import" in data[s]
            else "-"
            for s in sizes
        ]
        empty = data.get("empty", {}).get("import", {}).get("rate")
        reference = f"≥ 80 % of the empty database's {empty:.0f} /s" if empty else "≥ 80 % of the empty database"
        lines.append("| import 10,000-invoice ZIP (invoices/s) | " + " | ".join(cells) + f" | {reference} |")
    if any("seconds" in data[s].get("verify", {}) for s in sizes):
        cells = [
            f"{data[s]['verify']['seconds']:.1f} s ({data[s]['verify']['entries'] / 1e6:.2f} M entries)"
            if "seconds" in data[s].get("verify", {})
            else "-"
            for s in sizes
        ]
        lines.append("| verify_audit --full | " + " | ".join(cells) + " | |")
    if any("incremental_seconds" in data[s].get("verify", {}) for s in sizes):
        cells = [
            f"{data[s]['verify']['incremental_seconds']:.2f} s"
            if "incremental_seconds" in data[s].get("verify", {})
            else "-"
            for s in sizes
        ]
        lines.append("| verify_audit, 1,000 new entries (from the checkpoint) | " + " | ".join(cells) + " | |")
    table = "\n".join(lines)
    print(table)
    page = docs / "performance.md"
    text = page.read_text() if page.exists() else "# Performance\n"
    text = _between(text, MARK_BEGIN, MARK_END, table)
    rows = []
    for size in sizes:
        d = data[size]["data"]
        rows.append(f"| {size} | {d['invoices']:,} | {d['lines']:,} | {d['prs']:,} | {d['audit']:,} | {d['gb']} GB |")
    text = _between(text, DATA_BEGIN, DATA_END, "\n".join(rows))
    page.write_text(_between(text, VERDICT_BEGIN, VERDICT_END, verdict(data, sizes)))
    (docs / "performance-scale.svg").write_text(svg(data, sizes))


def verdict(data: dict[str, Any], sizes: list[str]) -> str:
    """Each target at the largest size measured, against its figure (written by the script, not by hand)."""
    top, base = sizes[-1], sizes[0]
    held, missed = [], []
    for row in data[top]["rows"]:
        first = next((r for r in data[base]["rows"] if r["label"] == row["label"]), None)
        if row["kind"] == KIND_WAIT:
            ok_abs, ok_rel = row["p95"] <= 100, first is not None and row["p95"] <= 2 * first["p95"]
            text = f"{row['label']}: p95 {row['p95']:.0f} ms (≤ 100: {'yes' if ok_abs else 'no'}; {base} p95"
            text += f" {first['p95']:.0f} ms, ≤ 2x: {'yes' if ok_rel else 'no'})" if first else ")"
            (held if ok_abs and ok_rel else missed).append(text)
        elif row["kind"] == KIND_REPORT:
            text = f"{row['label']}: p95 {row['p95']:.0f} ms (≤ 500)"
            (held if row["p95"] <= 500 else missed).append(text)
    empty = data.get("empty", {}).get("import", {}).get("rate")
    if empty and "import" in data[top]:
        rate = data[top]["import"]["rate"]
        text = f"import: {rate:.0f} invoices/s at {top} against {empty:.0f} /s empty ({rate / empty:.0%})"
        (held if rate >= 0.8 * empty else missed).append(text)
    out = [f"At {top} (the largest size measured), **held**:", ""]
    out += [f"- {t}" for t in held] or ["- none"]
    out += ["", "**Not held**:", ""]
    out += [f"- {t}" for t in missed] or ["- none"]
    return "\n".join(out)


def svg(data: dict[str, Any], sizes: list[str]) -> str:
    """p95 against size (log-log), one line per measurement; plain SVG text."""
    width, height, left, right, top, bottom = 900, 520, 70, 330, 20, 50
    xs = {s: left + i * (width - left - right) / max(1, len(sizes) - 1) for i, s in enumerate(sizes)}
    import math

    values = [r["p95"] for s in sizes for r in data[s]["rows"]]
    low, high = max(1.0, min(values)), max(values)
    lo, hi = math.floor(math.log10(low)), math.ceil(math.log10(high))
    hi = max(hi, lo + 1)

    def y(v: float) -> float:
        return top + (hi - math.log10(max(v, 1.0))) / (hi - lo) * (height - top - bottom)

    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
               "#17becf"]  # fmt: skip
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif"'
        ' font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for e in range(lo, hi + 1):
        yy = y(10**e)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{10**e:g} ms</text>')
    for limit, name in ((100, "100 ms"), (500, "500 ms")):
        if lo <= math.log10(limit) <= hi:
            out.append(
                f'<line x1="{left}" x2="{width - right}" y1="{y(limit):.1f}" y2="{y(limit):.1f}" stroke="#c00"'
                f' stroke-dasharray="4 3"/><text x="{width - right - 4}" y="{y(limit) - 3:.1f}" text-anchor="end"'
                f' fill="#c00">{name}</text>'
            )
    for s, xx in xs.items():
        out.append(f'<text x="{xx:.1f}" y="{height - bottom + 18}" text-anchor="middle">{s} invoices</text>')
    labels = [r["label"] for r in data[sizes[-1]]["rows"]]
    for i, label in enumerate(labels):
        colour = palette[i % len(palette)]
        dash = "" if i < len(palette) else ' stroke-dasharray="5 3"'
        points = []
        for s in sizes:
            row = next((r for r in data[s]["rows"] if r["label"] == label), None)
            if row:
                points.append(f"{xs[s]:.1f},{y(row['p95']):.1f}")
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points="{" ".join(points)}"/>')
        ly = top + 12 + i * 16
        out.append(f'<line x1="{width - right + 10}" x2="{width - right + 30}" y1="{ly - 4}" y2="{ly - 4}"'
                   f' stroke="{colour}" stroke-width="2"{dash}/>')  # fmt: skip
        out.append(f'<text x="{width - right + 36}" y="{ly}">{label}</text>')
    out.append(f'<text x="{left}" y="{height - 8}">p95 per request (ms, log scale) against data size</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
