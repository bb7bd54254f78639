"""URLs of the REST API, version 1: the grant domain's routes, the tasks, the schema and its docs page."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from grants.api.docs import ApiRootView, DocsView
from grants.api.errors import not_found
from workflows.api import TaskViewSet

tasks = SimpleRouter(use_regex_path=False)
tasks.register("tasks", TaskViewSet, basename="api-task")

urlpatterns = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("schema/docs/", DocsView.as_view(), name="api-docs"),
    path("", include("grants.api.urls")),
    *tasks.urls,
    # Anything else under /api/v1/ is a JSON 404, not the site's HTML page.
    re_path(r"^.*$", not_found),
]
