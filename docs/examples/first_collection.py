"""A first collection: 100 simulated jobs of a second each, from a script."""

import polling
from polling.testing import SimulatedJobStore

api = SimulatedJobStore(duration_of=lambda request: 1.0)
poller = polling.Poller(api, "stack", deadline=600)

outcomes = poller.collect_sync(range(100))  # scripts and notebooks
assert poller.report is not None  # set when a run ends
print(poller.report.summary())

failed = [outcome for outcome in outcomes if not outcome.ok]
print(f"{len(outcomes) - len(failed)} of {len(outcomes)} completed")
