"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("public/", include("grants.public.urls", namespace="public")),
    path("captcha/", include("captcha.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("donations/", include("grants.import_urls")),
    path("money/", include("grants.money_urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("grants.urls")),
    path("", include("workflows.urls", namespace="workflows")),
]
