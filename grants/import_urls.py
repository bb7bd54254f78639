"""URLs under /donations/: the bank statement import and the donation platforms' webhook."""

from django.urls import path

from . import import_views, webhook_views

app_name = "donations"

urlpatterns = [
    path("import/", import_views.statement_import_start, name="statement_import_start"),
    path("import/<slug:fund_code>/", import_views.statement_import, name="statement_import"),
    path("import/<slug:fund_code>/confirm/", import_views.statement_import_confirm, name="statement_import_confirm"),
    path("import/<slug:fund_code>/imported/", import_views.statement_imported, name="statement_imported"),
    path("webhook/<slug:platform_code>/", webhook_views.platform_webhook, name="platform_webhook"),
]
