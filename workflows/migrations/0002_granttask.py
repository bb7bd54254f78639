from django.db import migrations


class Migration(migrations.Migration):
    """The grant process's tasks as a proxy of viewflow's Task (no table: it only loads the process along)."""

    dependencies = [
        ('viewflow', '0015_task_scheduled'),
        ('workflows', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='GrantTask',
            fields=[],
            options={
                'verbose_name': 'grant task',
                'verbose_name_plural': 'grant tasks',
                'proxy': True,
                'base_manager_name': 'objects',
                'indexes': [],
                'constraints': [],
            },
            bases=('viewflow.task',),
        ),
    ]
