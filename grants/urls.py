"""URLs of the grant domain's pages."""

from django.urls import path

from . import attachment_views, document_views, report_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("applications/", views.application_list, name="application_list"),
    path("applications/mine/", views.my_applications, name="my_applications"),
    path("applications/new/", views.application_create, name="application_create"),
    path("applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("applications/<int:pk>/edit/", views.application_edit, name="application_edit"),
    path("applications/<int:pk>/documents/", attachment_views.attachment_upload, name="attachment_upload"),
    path("applications/<int:pk>/actions/<slug:action>/", views.application_action, name="application_action"),
    path("applications/<int:pk>/agreement.pdf", document_views.agreement_pdf, name="application_agreement_pdf"),
    path("applications/<int:pk>/certificate.pdf", document_views.certificate_pdf, name="application_certificate_pdf"),
    path("applications/<int:pk>/completion-report/", report_views.completion_report_edit,
         name="completion_report_edit"),
    path("applications/<int:pk>/deadline-extension/", report_views.deadline_extension, name="deadline_extension"),
    path("applications/overdue/", report_views.overdue_list, name="overdue_projects"),
    path("attachments/<int:pk>/", attachment_views.attachment_download, name="attachment_download"),
    path("attachments/<int:pk>/thumbnail/", attachment_views.attachment_thumbnail, name="attachment_thumbnail"),
]
