"""Read a run's report: the same 1,000 jobs on two APIs, in virtual time."""

from polling import OutcomeKind, Poller
from polling.testing import SimulatedJobStore, run_in_virtual_time

for api in ("full", "sdk-only"):
    store = SimulatedJobStore(
        api=api,
        duration_of=lambda request: 1.0 + request % 10,
        fails_of=lambda request: request % 100 == 0,
    )
    poller = Poller(store, "stack", progress=False)

    outcomes = run_in_virtual_time(poller, range(1000))

    assert poller.report is not None
    print(f"api {api}:")
    print(poller.report.summary())
    failed = [outcome for outcome in outcomes if outcome.kind is OutcomeKind.FAILED]
    print(f"first failure: job {failed[0].index}: {failed[0].error}\n")
