"""URLs of the grant domain's pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("applications/", views.application_list, name="application_list"),
    path("applications/mine/", views.my_applications, name="my_applications"),
    path("applications/new/", views.application_create, name="application_create"),
    path("applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("applications/<int:pk>/edit/", views.application_edit, name="application_edit"),
    path("applications/<int:pk>/documents/", views.attachment_upload, name="attachment_upload"),
    path("applications/<int:pk>/actions/<slug:action>/", views.application_action, name="application_action"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
]
