"""The reference server in process: an app from settings, driven without a socket.

Without its lifespan (which runs the dispatcher) the app stores jobs but does not
run them: enough to see the routes answer.
"""

import anyio
import httpx

from server import Settings, create_app

settings = Settings.with_api_keys(["secret"], db_path="jobs.sqlite")
app = create_app(settings)  # serve with uvicorn, or drive in process


async def main() -> None:
    transport = httpx.ASGITransport(app=app)
    auth = {"Authorization": "Bearer secret"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://pollstack", headers=auth
    ) as client:
        limits = (await client.get("/capabilities")).json()["limits"]
        print("batch_submit_max:", limits["batch_submit_max"])

        request = {
            "model": "Naive",
            "horizon": 2,
            "series": [{"unique_id": "a", "values": [1.0, 2.0, 3.0]}],
        }
        answer = await client.post("/forecast-jobs", json=request)
        print(answer.status_code, answer.json()["status"])


anyio.run(main)
