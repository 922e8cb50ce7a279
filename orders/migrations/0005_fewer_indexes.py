"""Drop four indexes that only cost writes.

A status change cannot be a HOT update (``status`` is indexed), so every transition adds
an entry to each index of ``orders``. ``status`` alone and the two LIKE-only indexes
(``status``, ``idempotencyKey``) served no query: every read by status leads
``orders_status_updated``, and nothing matches those columns with LIKE. Lookups of an
order's events use ``order_events_one_per_seq`` (order_id, seq). WAL per order in a loop
of create, claim and four transitions: 6,416 -> 5,039 bytes; PostgreSQL's CPU in that
loop did not move beyond its noise. Dropping the events' index makes Django drop and add
their foreign key again, which checks every event row once: on a large table, a longer
migration.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_resting_orders"),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="idempotency_key",
            field=models.CharField(
                blank=True, db_column="idempotencyKey", max_length=255, null=True
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("waiting", "Waiting"),
                    ("routing", "Routing"),
                    ("building", "Building"),
                    ("submitted", "Submitted"),
                    ("confirmed", "Confirmed"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                    ("expired", "Expired"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="orderevent",
            name="order",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="orders.order",
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.UniqueConstraint(
                fields=("idempotency_key",), name="orders_idempotency_key"
            ),
        ),
    ]
