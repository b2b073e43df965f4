"""Concurrent writers and the rollups (docs/adr/0012), with real connections in threads: imports
of one supplier on one day never wait for each other (delta rows are only inserted), and a PR's
status change racing a change of one of its invoices is neither lost nor counted twice."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from payments.models import PaymentRequest
from tests.controls.conftest import company  # noqa: F401 - the fixture
from tests.payments.factories import make_invoice
from tests.reports.test_rollups import assert_consistent, direct, invoices

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 20  # seconds: far above the work, only a hang reaches it


def run(target) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread, errors


def test_two_imports_of_one_supplier_and_day_do_not_wait_for_each_other():
    first_written, second_done = threading.Event(), threading.Event()

    def first() -> None:
        with transaction.atomic():
            make_invoice(total="1000000")
            first_written.set()
            assert second_done.wait(WAIT), "the second import waited for the first one's commit"

    def second() -> None:
        assert first_written.wait(WAIT)
        with transaction.atomic():
            make_invoice(total="2000000")  # same seller, same issue date: the same rollup keys
        second_done.set()

    threads = [run(first), run(second)]
    for thread, errors in threads:
        thread.join(WAIT * 2)
        assert not errors, errors
    assert_consistent()


def test_a_status_change_racing_an_invoice_change_is_counted_once(company):  # noqa: F811
    a, b, *_ = invoices()
    pr = direct(company.clerk, a, b)
    status_changed, amount_sent = threading.Event(), threading.Event()

    def change_status() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE pr SET status = 'pending', payee_bank_account = '0071' WHERE id = %s", [pr.pk])
            status_changed.set()
            amount_sent.wait(WAIT)
            threading.Event().wait(0.5)  # the invoice's update is now waiting for this commit

    def change_amount() -> None:
        assert status_changed.wait(WAIT)
        with transaction.atomic(), connection.cursor() as cursor:
            amount_sent.set()
            cursor.execute("UPDATE invoices SET total_payable = total_payable * 3 WHERE id = %s", [a.pk])

    threads = [run(change_status), run(change_amount)]
    for thread, errors in threads:
        thread.join(WAIT * 2)
        assert not errors, errors
    assert PaymentRequest.objects.get(pk=pr.pk).status == "pending"
    a.refresh_from_db()
    assert a.total_payable == Decimal("3000000.00")
    assert_consistent()
