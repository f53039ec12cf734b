from django.db import migrations, models

import layers.styles


class Migration(migrations.Migration):
    """A layer's own style and field labels over the built-in ones (layers/styles.py), set in the admin."""

    dependencies = [("layers", "0003_feature_fid_index")]

    operations = [
        migrations.AddField(
            model_name="layer", name="style",
            field=models.JSONField(blank=True, default=dict, help_text='e.g. {"color": "#1f78b4", "weight": 2, "dashArray": "8 4", "fillColor": "#a6cee3", "fillOpacity": 0.3, "hatch": "diagonal", "group": "control", "on": true}', validators=[layers.styles.validate_style], verbose_name="style"),  # noqa: E501
        ),
        migrations.AddField(
            model_name="layer", name="field_labels",
            field=models.JSONField(blank=True, default=dict, help_text='Field name → Chinese name, or {"zh": …, "en": …, "unit": "m2", "hidden": true, "values": {"code": "name"}}', validators=[layers.styles.validate_field_labels], verbose_name="field labels"),  # noqa: E501
        ),
    ]
