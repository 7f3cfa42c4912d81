"""The lean pull loop's delivery facts equal what nats-py's message metadata says."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from cxpulse.config import Config
from stream.nats_io import connect
from stream.nats_server import EmbeddedNats
from stream.pull import BatchPuller, delivery, pending_after


async def test_delivery_equals_the_metadata_of_real_messages(nats_server: EmbeddedNats) -> None:
    nc = await connect(Config().nats, nats_server.url, "test")
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="T", subjects=["t.>"]))
    for i in range(7):
        await js.publish(f"t.{i}", b"x")
    await js.add_consumer("T", ConsumerConfig(durable_name="c", ack_policy=AckPolicy.EXPLICIT))
    puller = await BatchPuller(nc, "T", "c").start()
    msgs = await puller.fetch(10, 2.0)
    assert len(msgs) == 7
    for msg in msgs:
        meta = msg.metadata
        assert delivery(msg) == (meta.sequence.stream, int(meta.timestamp.timestamp() * 1000))
        assert pending_after(msg) == meta.num_pending
    await puller.stop()
    await nc.close()


@pytest.mark.parametrize("reply", [
    "$JS.ACK.T.c.1.42.40.1764700000123456789.3",  # v1
    "$JS.ACK.hub.ACCHASH.T.c.1.42.40.1764700000123456789.3.tok",  # v2: domain, account
])
def test_delivery_reads_both_ack_subject_formats(reply: str) -> None:
    msg = Msg(_client=None, subject="t.1", reply=reply, data=b"")  # type: ignore[arg-type]
    assert delivery(msg) == (42, 1764700000123)
    assert pending_after(msg) == 3
    meta = msg.metadata
    assert meta.sequence.stream == 42
    assert int(meta.timestamp.timestamp() * 1000) == 1764700000123
    assert meta.num_pending == 3
