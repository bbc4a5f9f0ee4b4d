import asyncio

import pytest

from academy.kit.realtime import LocalHub, RedisHub
from tests.fixtures.db import REDIS_URL


async def test_local_hub_delivers_to_every_subscriber_of_the_channel():
    hub = LocalHub()
    async with hub.subscribe("user:1") as a, hub.subscribe("user:1") as b, hub.subscribe("user:2") as other:
        await hub.publish("user:1", {"n": 1})
        assert (await a.get(), await b.get()) == ({"n": 1}, {"n": 1})
        assert other.empty()
    assert hub.subscriber_count("user:1") == 0


async def test_local_hub_bounds_a_stalled_subscriber():
    hub = LocalHub()
    async with hub.subscribe("c") as q:
        for i in range(500):
            await hub.publish("c", {"i": i})
        assert q.qsize() == 100


@pytest.mark.skipif(not REDIS_URL, reason="needs Redis (CI starts one; set ACADEMY_TEST_REDIS_URL)")
async def test_redis_hub_fans_out_across_processes():
    web_a, web_b, worker = RedisHub(REDIS_URL), RedisHub(REDIS_URL), RedisHub(REDIS_URL)
    await web_a.start()
    await web_b.start()
    try:
        async with web_a.subscribe("user:7") as qa, web_b.subscribe("user:7") as qb:
            await worker.publish("user:7", {"title": "graded"})
            got = await asyncio.wait_for(asyncio.gather(qa.get(), qb.get()), timeout=5)
            assert got == [{"title": "graded"}, {"title": "graded"}]
    finally:
        for hub in (web_a, web_b, worker):
            await hub.stop()
