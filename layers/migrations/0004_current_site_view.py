from django.contrib.gis.db.models import MultiPolygonField
from django.db import migrations, models


def create_view(apps, schema_editor):
    from layers.sites import view_sql

    schema_editor.execute(view_sql())


def drop_view(apps, schema_editor):
    schema_editor.execute("DROP VIEW IF EXISTS layers_current_site")


def site_fields(apps, schema_editor):
    """The registry entry of project sites gets the view's attributes (seed_layers.yaml says the same)."""
    from layers.sites import SITE_FIELDS

    apps.get_model("layers", "Layer").objects.filter(slug="project_site").update(
        fields={name: kind for name, (kind, _, _) in SITE_FIELDS.items()})


class Migration(migrations.Migration):
    """The view of each project's current site (layers/sites.py): the `project_site` collection
    and its tiles read it, so a new revision is served at once."""

    dependencies = [("layers", "0003_feature_fid_index")]

    operations = [
        migrations.CreateModel(
            name="CurrentSite",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("fid", models.BigIntegerField()),
                ("properties", models.JSONField(default=dict)),
                ("area_m2", models.FloatField()),
                ("geom", MultiPolygonField(spatial_index=False, srid=4490)),
                ("project", models.ForeignKey(db_constraint=False, on_delete=models.DO_NOTHING,
                                              related_name="+", to="layers.project")),
            ],
            options={"db_table": "layers_current_site", "managed": False},
        ),
        migrations.RunPython(create_view, drop_view),
        migrations.RunPython(site_fields, migrations.RunPython.noop),
    ]
