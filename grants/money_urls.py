"""URLs of the fund's money pages, under /money/ (namespace "money")."""

from django.urls import path

from . import money_views as views

app_name = "money"

urlpatterns = [
    path("", views.index, name="index"),
    path("funds/<int:fund_id>/statement/", views.statement, name="statement"),
    path("funds/<int:fund_id>/statement.xlsx", views.statement_xlsx, name="statement_xlsx"),
    path("funds/<int:fund_id>/donations/", views.donation_list, name="donations"),
    path("funds/<int:fund_id>/donations/new/", views.donation_create, name="donation_create"),
    path("funds/<int:fund_id>/donations/<int:pk>/receive/", views.donation_receive, name="donation_receive"),
    path("funds/<int:fund_id>/tranches/", views.tranche_list, name="tranches"),
    path("funds/<int:fund_id>/tranches/<int:pk>/pay/", views.tranche_pay, name="tranche_pay"),
    path("funds/<int:fund_id>/refunds/new/", views.refund_create, name="refund_create"),
    path("funds/<int:fund_id>/management-fees/new/", views.management_fee_create, name="management_fee_create"),
]
