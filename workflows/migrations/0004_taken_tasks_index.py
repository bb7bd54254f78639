"""A partial index for the inbox: the tasks a person holds, oldest first."""

from django.db import migrations

# The inbox's first page is a person's taken tasks, oldest first. viewflow indexes `owner_id` alone, so the
# page read every task the person ever held (finished ones too), joined each to its process, application,
# community and category, and sorted them to keep 25. With this index the page walks the open ones in
# order and stops at 25. Raw SQL on viewflow's table, as in 0003 (PostgreSQL and SQLite know partial indexes).
TAKEN_TASKS_INDEX = ("CREATE INDEX workflows_task_taken_idx ON viewflow_task (owner_id, created, id) "
                     "WHERE status IN ('ASSIGNED', 'STARTED') AND flow_task_type = 'HUMAN'")


class Migration(migrations.Migration):
    dependencies = [("workflows", "0003_grantprocess_scope")]

    operations = [migrations.RunSQL(TAKEN_TASKS_INDEX, "DROP INDEX workflows_task_taken_idx")]
