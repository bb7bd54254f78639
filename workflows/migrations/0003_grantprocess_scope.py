"""Copy each process's community, street office and foundation onto it, for the queue's filter."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_scope(apps, schema_editor):
    """Backfill the three ids of every existing process from its application (one UPDATE)."""
    GrantProcess = apps.get_model("workflows", "GrantProcess")
    GrantApplication = apps.get_model("grants", "GrantApplication")
    application = GrantApplication.objects.using(schema_editor.connection.alias).filter(pk=OuterRef("application_id"))
    GrantProcess.objects.using(schema_editor.connection.alias).update(
        community_id=Subquery(application.values("community_id")[:1]),
        street_office_id=Subquery(application.values("community__street_office_id")[:1]),
        foundation_id=Subquery(application.values("fund__foundation_id")[:1]),
    )


def scope_field(model: str, name: str, null: bool) -> models.ForeignKey:
    return models.ForeignKey(null=null, db_index=False, on_delete=django.db.models.deletion.PROTECT,
                             related_name="+", to=model, verbose_name=name)


# The queue's first page walks the tasks nobody has taken, oldest first, and keeps those of the person's
# organisation (by process id, `grantprocess_*_idx`). viewflow's own `created` index holds every task
# (finished ones, timers): at 100,000 applications the walk read ~100,000 rows for a page of 25. A partial
# index on viewflow's table, so raw SQL (both PostgreSQL and SQLite know partial indexes).
OFFERED_TASKS_INDEX = ("CREATE INDEX workflows_task_offered_idx ON viewflow_task (created, id, process_id) "
                       "WHERE status = 'NEW' AND flow_task_type = 'HUMAN'")


class Migration(migrations.Migration):

    dependencies = [
        ("grants", "0001_initial"),
        ("workflows", "0002_granttask"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [
        migrations.AddField("grantprocess", "community", scope_field("grants.community", "community", True)),
        migrations.AddField("grantprocess", "street_office",
                            scope_field("grants.streetoffice", "street office", True)),
        migrations.AddField("grantprocess", "foundation", scope_field("grants.foundation", "foundation", True)),
        migrations.RunPython(copy_scope, migrations.RunPython.noop),
        migrations.AlterField("grantprocess", "community", scope_field("grants.community", "community", False)),
        migrations.AlterField("grantprocess", "street_office",
                              scope_field("grants.streetoffice", "street office", False)),
        migrations.AlterField("grantprocess", "foundation", scope_field("grants.foundation", "foundation", False)),
        migrations.AddIndex("grantprocess", models.Index(fields=["community", "process_ptr"],
                                                         name="grantprocess_community_idx")),
        migrations.AddIndex("grantprocess", models.Index(fields=["street_office", "process_ptr"],
                                                         name="grantprocess_street_idx")),
        migrations.AddIndex("grantprocess", models.Index(fields=["foundation", "process_ptr"],
                                                         name="grantprocess_foundation_idx")),
        migrations.RunSQL(OFFERED_TASKS_INDEX, "DROP INDEX workflows_task_offered_idx"),
    ]
