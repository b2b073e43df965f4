from django.urls import path

from payments.live import views

urlpatterns = [
    path("events", views.events, name="live-events"),
    path("counts", views.counts, name="live-counts"),
]
