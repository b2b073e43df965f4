from django.urls import URLPattern, URLResolver, path

from payments.reports.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("reports/payables-by-month/", views.PayablesByMonthView.as_view(), name="reports-payables-by-month"),
    path("reports/payables-by-supplier/", views.PayablesBySupplierView.as_view(), name="reports-payables-by-supplier"),
    path("reports/aging/", views.AgingView.as_view(), name="reports-aging"),
    path("reports/approval-cycle-time/", views.ApprovalCycleTimeView.as_view(), name="reports-approval-cycle-time"),
    path("reports/home/", views.HomeSummaryView.as_view(), name="reports-home"),
]
