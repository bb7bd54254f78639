"""URLs of the notification pages, under /notifications/ (namespace "notifications")."""

from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("read/", views.mark_read, name="mark_read"),
    path("preferences/", views.preferences, name="preferences"),
    path("operations/", views.operations, name="operations"),
    path("operations/deliveries/<int:pk>/retry/", views.operations_retry, name="retry"),
]
