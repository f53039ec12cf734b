"""The counters of the people's rate limits (blueprint/ratelimits.py): one row per caller and group
of endpoints, counted by one atomic UPSERT. UNLOGGED: no WAL, so no disk flush per request, and a
crash forgets the counts (a fresh window), which a rate limit may."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("blueprint", "0002_mlps3_accounts")]

    operations = [
        migrations.RunSQL(
            sql="""
            CREATE UNLOGGED TABLE blueprint_ratecounter (
              key varchar(200) PRIMARY KEY,
              window_start bigint NOT NULL,
              window_end timestamptz NOT NULL,
              count integer NOT NULL
            );
            CREATE INDEX blueprint_ratecounter_window_end ON blueprint_ratecounter (window_end);
            """,
            reverse_sql="DROP TABLE blueprint_ratecounter;",
        ),
    ]
