"""The workers' broker channel builds one Redis client per connection pool, not per call."""

from __future__ import annotations

from engine_project import broker
from engine_project.celery import app


def test_the_app_uses_the_channel_that_shares_its_client():
    with app.connection_for_write() as connection:
        assert isinstance(connection.default_channel, broker.Channel)


def test_every_call_gets_the_same_client_until_the_pool_is_replaced():
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        first = channel._create_client()
        assert channel._create_client() is first
        with channel.conn_or_acquire() as client:  # what acks and deliveries go through
            assert client is first
        assert first.ping()
        # kombu drops its pools after a connection error; the next client is a new one.
        channel._pool = None
        replaced = channel._create_client()
        assert replaced is not first
        assert replaced.connection_pool is channel.pool
        assert replaced.ping()


def test_a_message_goes_through_and_is_acknowledged():
    with app.connection_for_write() as connection:
        queue = connection.SimpleQueue("engine-test-broker")
        try:
            queue.clear()
            queue.put({"order": 1})
            message = queue.get(timeout=5)
            assert message.payload == {"order": 1}
            channel = queue.channel
            tag = message.delivery_tag
            redis = channel._create_client()
            assert redis.hexists(channel.unacked_key, tag)  # held until acknowledged
            message.ack()
            assert not redis.hexists(channel.unacked_key, tag)
        finally:
            queue.clear()
            queue.close()
