"""The embedded channel layer (pop_site/channel_layers.py): Channels' in-memory layer, swept at most once a second."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer

from pop_site.channel_layers import InMemoryChannelLayer

pytestmark = pytest.mark.asyncio


async def test_group_messages_arrive_and_expired_ones_are_still_dropped() -> None:
    layer = InMemoryChannelLayer(expiry=0.2)
    channel = await layer.new_channel()
    await layer.group_add("class-1-live", channel)
    await layer.group_send("class-1-live", {"type": "worksheet.progress", "words": 3})
    assert (await asyncio.wait_for(layer.receive(channel), 1))["words"] == 3

    await layer.group_send("class-1-live", {"type": "worksheet.progress", "words": 4})
    await asyncio.sleep(1.3)  # past the message's expiry and the sweep interval
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.3)


async def test_sending_does_not_walk_every_channel_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    sweeps = 0
    stock_sweep = ChannelsInMemoryChannelLayer._clean_expired

    def counted(self: ChannelsInMemoryChannelLayer) -> None:
        nonlocal sweeps
        sweeps += 1
        stock_sweep(self)

    monkeypatch.setattr(ChannelsInMemoryChannelLayer, "_clean_expired", counted)
    layer = InMemoryChannelLayer()
    for i in range(500):  # a few hundred sockets, each in its own groups
        await layer.group_add(f"worksheets-user-{i}", await layer.new_channel())
    for _ in range(200):
        await layer.group_send("class-1-live", {"type": "worksheet.progress"})
    assert sweeps == 1  # the stock layer sweeps on all 200
