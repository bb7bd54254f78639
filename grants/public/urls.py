"""URLs of the public page (mounted at /public/, no login)."""

from django.urls import path

from . import views

app_name = "public"
urlpatterns = [
    path("", views.index, name="index"),
    path("publicity/", views.publicity, name="publicity"),
    path("publicity/<int:pk>/objection/", views.objection, name="objection"),
    path("projects/", views.projects, name="projects"),
    path("projects/<int:pk>/", views.project, name="project"),
    path("donations/trace/", views.trace, name="trace"),
    path("open-data/", views.open_data, name="open_data"),
    path("open-data/360giving.json", views.grants_json, name="grants_json"),
    path("open-data/360giving.csv", views.grants_csv, name="grants_csv"),
]
