"""The same collection in async code: outcomes as they arrive, on asyncio or trio."""

import anyio

import polling
from polling.testing import SimulatedJobStore


async def main() -> None:
    api = SimulatedJobStore(duration_of=lambda request: request / 10)
    poller = polling.Poller(api, "stack", progress=False)

    async with poller.stream(range(20)) as outcomes:
        async for outcome in outcomes:
            print(outcome.index, outcome.kind.value, outcome.result)

    every = await poller.collect(range(5))  # all at once, in input order
    print([outcome.result for outcome in every])


anyio.run(main)  # or anyio.run(main, backend="trio")
