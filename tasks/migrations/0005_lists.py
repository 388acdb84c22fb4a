"""Lists: the TaskList model and Task.list (NULL: the Inbox). Adding a nullable column rewrites no row, so
existing tasks are in their Inbox at once, at any table size; the index comes in 0006, built concurrently."""

import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tasks', '0004_task_search_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='TaskList',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_id', models.CharField(help_text='The Better Auth user id of the owner.', max_length=255)),
                ('name', models.CharField(max_length=100, validators=[django.core.validators.ProhibitNullCharactersValidator()])),
                ('color', models.CharField(blank=True, max_length=7, null=True, validators=[django.core.validators.RegexValidator('^#[0-9a-fA-F]{6}$', 'Must be a colour as #rrggbb.')])),
                ('position', models.IntegerField(default=0, validators=[django.core.validators.MinValueValidator(-2147483647), django.core.validators.MaxValueValidator(2147483647)])),
                ('archived', models.BooleanField(default=False)),
                ('inbox', models.BooleanField(default=False, editable=False)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('deleted_at', models.DateTimeField(blank=True, editable=False, help_text='Set when deleted: in the trash with its tasks.', null=True)),
            ],
            options={
                'ordering': ['position', 'id'],
                'indexes': [models.Index(fields=['user_id', 'position', 'id'], name='list_user_position_idx')],
                'constraints': [models.UniqueConstraint(django.db.models.functions.text.Lower('name'), models.F('user_id'), condition=models.Q(('deleted_at', None)), name='list_user_name_unique'), models.UniqueConstraint(condition=models.Q(('inbox', True)), fields=('user_id',), name='list_user_one_inbox'), models.CheckConstraint(condition=models.Q(('name', ''), _negated=True), name='list_name_not_blank')],
            },
        ),
        migrations.AddField(
            model_name='task',
            name='list',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='tasks', to='tasks.tasklist'),
        ),
    ]
