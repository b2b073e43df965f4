"""Database invariants the API must never break, whatever it is sent (issue 10: "the database is
left consistent"). `problems()` returns what is wrong, [] when all holds; the fuzzer calls it
after every write it sends, before rolling the example back.

Checked: deferred constraints (foreign keys: no half-written rows) and the audit hash chain
(`verify_audit`'s check, after sealing the open transaction the way commit would); every PR has
exactly one chain whose steps are numbered 1..n, each with approvers; the chain agrees with the
PR's status (draft: step 0 and no approvals; pending: the steps before the current one satisfied,
the current one not, none after it touched; approved/completed: every step satisfied);
approvals only from a step's approvers, at most one on an any-of step; no invoice in two PRs;
linked invoices completed exactly when their PR is, and no unlinked invoice completed;
`completed_at` set exactly on completed PRs. The payment controls (docs/controls.md): no approval
given by, or in the place of, a preparer (PREPARER-NEVER-APPROVES); a PR with invoices is for
their total (AMOUNT-FROM-INVOICES); a submitted PR's invoices still name the payee it froze
(PAYEE-FROZEN)."""

from __future__ import annotations

from collections import defaultdict

from django.db import IntegrityError, connection

from audit.verification import verify_chain


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _constraints_and_audit() -> list[str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT does: deferred FKs, audit seals
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    except IntegrityError as exc:
        return [f"deferred constraint violated: {exc}"]
    result = verify_chain(limit=5)
    return [f"audit entry {b.id}: {b.problem}" for b in result.broken]


def _links() -> list[str]:
    problems = [
        f"invoice {i} linked {n} times"
        for i, n in _rows("SELECT invoice_id, count(*) FROM pr_invoice GROUP BY invoice_id HAVING count(*) > 1")
    ]
    problems += [
        f"invoice {i} is {s} in PR {p} that is {ps}"
        for i, s, p, ps in _rows(
            "SELECT i.id, i.status, p.id, p.status FROM pr_invoice l JOIN invoices i ON i.id = l.invoice_id"
            " JOIN pr p ON p.id = l.pr_id WHERE (p.status = 'completed') <> (i.status = 'completed')"
        )
    ]
    problems += [
        f"invoice {i} completed without a PR"
        for (i,) in _rows(
            "SELECT i.id FROM invoices i WHERE i.status = 'completed'"
            " AND NOT EXISTS (SELECT 1 FROM pr_invoice l WHERE l.invoice_id = i.id)"
        )
    ]
    problems += [
        f"PR {p} is {s} with completed_at {c}"
        for p, s, c in _rows(
            "SELECT id, status, completed_at FROM pr WHERE (status = 'completed') <> (completed_at IS NOT NULL)"
        )
    ]
    return problems


def _chains() -> list[str]:
    problems = [
        f"PR {p} has {n} chains"
        for p, n in _rows(
            "SELECT p.id, count(a.id) FROM pr p LEFT JOIN approval a ON a.id = p.approval_id GROUP BY p.id"
            " HAVING count(a.id) <> 1"
        )
    ]
    problems += [
        f"approval record {r} is not by an approver of its step"
        for (r,) in _rows(
            "SELECT r.id FROM approval_records r JOIN approval_steps s ON s.id = r.step_id"
            " WHERE s.approval_id <> r.approval_id OR NOT EXISTS ("
            "  SELECT 1 FROM approval_step_users u WHERE u.step_id = r.step_id AND u.user_id = r.approver_id)"
        )
    ]
    steps: dict[int, list[tuple]] = defaultdict(list)
    for approval_id, number, mode, places, records in _rows(
        "SELECT s.approval_id, s.number, s.mode,"
        " (SELECT count(*) FROM approval_step_users u WHERE u.step_id = s.id),"
        " (SELECT count(*) FROM approval_records r WHERE r.step_id = s.id)"
        " FROM approval_steps s ORDER BY s.approval_id, s.number"
    ):
        steps[approval_id].append((number, mode, places, records))
    for approval_id, pr_id, status, current in _rows(
        "SELECT a.id, p.id, p.status, a.current_step FROM approval a JOIN pr p ON p.approval_id = a.id"
    ):
        problems += _chain_problems(pr_id, status, current, steps.get(approval_id, []))
    return problems


def _chain_problems(pr_id: int, status: str, current: int, steps: list[tuple]) -> list[str]:
    where = f"PR {pr_id} ({status}, step {current})"
    if [s[0] for s in steps] != list(range(1, len(steps) + 1)):
        return [f"{where}: steps numbered {[s[0] for s in steps]}"]
    problems = [f"{where}: step {n} has no approvers" for n, _m, places, _r in steps if places == 0]
    problems += [f"{where}: any-of step {n} has {r} approvals" for n, m, _p, r in steps if m == "anyof" and r > 1]

    def done(step: tuple) -> bool:
        _n, mode, places, records = step
        return records >= 1 if mode == "anyof" else records >= places

    if status == "draft":
        if current != 0 or any(s[3] for s in steps):
            problems.append(f"{where}: a draft with approvals or a current step")
    elif status == "pending":
        if not 1 <= current <= len(steps):
            problems.append(f"{where}: pending on a step that does not exist")
        elif not all(done(s) for s in steps[: current - 1]) or done(steps[current - 1]):
            problems.append(f"{where}: pending, but the steps before are not all done or the current one is")
        elif any(s[3] for s in steps[current:]):
            problems.append(f"{where}: approvals on a later step")
    elif current != len(steps) or not all(done(s) for s in steps):
        problems.append(f"{where}: {status} with steps left")
    return problems


def _controls() -> list[str]:
    out = [
        f"PR {pr}: approved by or for preparer {user} (record {record})"
        for record, pr, user in _rows(
            "SELECT r.id, p.id, pp.user_id FROM approval_records r JOIN pr p ON p.approval_id = r.approval_id"
            " JOIN pr_preparers pp ON pp.pr_id = p.id AND pp.user_id IN (r.acted_by_id, r.approver_id)"
        )
    ]
    out += [
        f"PR {pr}: amount {amount} is not its invoices' total {total}"
        for pr, amount, total in _rows(
            "SELECT p.id, p.amount, sum(i.total_payable) FROM pr p JOIN pr_invoice l ON l.pr_id = p.id"
            " JOIN invoices i ON i.id = l.invoice_id GROUP BY p.id HAVING p.amount <> sum(i.total_payable)"
        )
    ]
    out += [
        f"PR {pr} ({status}): invoice {inv} now names account {account}, the request froze {frozen}"
        for pr, status, inv, account, frozen in _rows(
            "SELECT p.id, p.status, i.id, i.payment_bank_account, p.payee_bank_account FROM pr p"
            " JOIN pr_invoice l ON l.pr_id = p.id JOIN invoices i ON i.id = l.invoice_id"
            " WHERE p.status <> 'draft' AND p.type = 'direct'"
            " AND replace(i.payment_bank_account, ' ', '') <> p.payee_bank_account"
        )
    ]
    return out


def problems() -> list[str]:
    return [*_links(), *_chains(), *_controls(), *_constraints_and_audit()]
