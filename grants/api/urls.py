"""Routes of the grant domain's API (mounted under /api/v1/ by config.api_urls)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import ApplicationViewSet, AttachmentFileView, FundStatementView, TokenView

router = SimpleRouter(use_regex_path=False)
router.register("applications", ApplicationViewSet, basename="api-application")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    *router.urls,
    path("attachments/<int:pk>/file/", AttachmentFileView.as_view(), name="api-attachment-file"),
    path("funds/<int:pk>/statement/", FundStatementView.as_view(), name="api-fund-statement"),
]
