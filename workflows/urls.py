"""URLs of the task pages (namespace "workflows")."""

from django.urls import path

from . import views

app_name = "workflows"

urlpatterns = [
    path("tasks/inbox/", views.inbox, name="inbox"),
    path("tasks/queue/", views.queue, name="queue"),
    path("tasks/<int:task_pk>/", views.task_detail, name="task"),
    path("tasks/<int:task_pk>/claim/", views.task_claim, name="task_claim"),
    path("tasks/<int:task_pk>/release/", views.task_release, name="task_release"),
    path("applications/<int:pk>/process/", views.process_detail, name="process"),
]
