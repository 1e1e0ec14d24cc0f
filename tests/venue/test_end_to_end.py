"""Orders in → fills → batch settled on-chain → fills final, with reservations released."""

from __future__ import annotations

from pathlib import Path

from relayer.engine import TimeInForce
from relayer.views import FillState, OrderState
from tests.settlement.venue import OPTION, PRICE
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import Maker, config_for, eventually, running, submit


async def test_crossing_orders_settle_on_chain_and_their_fills_become_final(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice, bob = makers[0], makers[1]
    async with running(config_for(deployed, tmp_path)) as venue:
        sub = venue.subscribe()
        (ask,) = await submit(venue, alice.order(is_buy=False, amount=2 * OPTION))
        (bid,) = await submit(venue, bob.order(is_buy=True, amount=OPTION), tif=TimeInForce.IOC)

        assert ask.status is OrderState.OPEN and ask.error_code is None
        assert bid.status is OrderState.FILLED
        assert venue.book(deployed.series).asks[0].amount == OPTION

        async def settled() -> bool:
            page = await venue.list_fills(series=deployed.series)
            return bool(page.items) and all(f.status is FillState.SETTLED for f in page.items)

        await eventually(settled)
        fills = (await venue.list_fills(maker=bob.raw)).items
        assert len(fills) == 1 and fills[0].batch_seq == 1
        batch = await venue.get_batch(1)
        assert batch is not None and batch.fill_ids == (fills[0].id,)
        assert deployed.position(bob.signer.address) == OPTION
        assert deployed.position(alice.signer.address) == -OPTION
        # bob's fill is final: he reserves nothing any more; alice still reserves her resting option
        quote = bytes.fromhex(deployed.manifest.tokens["quote"].address[2:])
        assert venue.reserved(bob.raw, quote) == 0
        assert venue.reserved(alice.raw, quote) > 0
        kinds = set()
        while (update := await sub.get(timeout=0.2)) is not None:
            kinds.add(type(update).__name__)
        assert {"BookDelta", "TradeUpdate", "OrderUpdate", "FillUpdate", "BatchUpdate"} <= kinds
        assert fills[0].price == PRICE
