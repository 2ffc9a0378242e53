"""Property tests of the custom strategy, written as a user would."""

from __future__ import annotations

from custom_strategy import AtAges
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polling import Poller
from polling.testing import (
    Simulation,
    check_no_duplicates,
    check_outcomes,
    check_staleness,
    faults,
    run_in_virtual_time,
    store_configs,
    stores,
)

# Virtual time makes each example fast, but on a loaded machine one may still take
# longer than Hypothesis's default deadline of 200 ms, or draw slowly.
virtual_time = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@virtual_time
@given(sim=stores(configs=store_configs(faults=faults())))
def test_every_job_ends_exactly_once(sim: Simulation) -> None:
    """Under drawn faults and limits, each job has one outcome, none repeated."""
    poller = Poller(sim.store, AtAges(), progress=False)

    outcomes = run_in_virtual_time(poller, sim.requests)

    check_outcomes(outcomes, sim.requests)
    check_no_duplicates(sim.store)


@virtual_time
@given(sim=stores(configs=store_configs(faults=st.none(), rate_limit=st.none())))
def test_no_job_waits_longer_than_the_widest_gap(sim: Simulation) -> None:
    """Without faults, no pending job goes unchecked longer than `every`, plus
    the round trip: the next check is planned from the answer, not the ask."""
    strategy = AtAges(ages=(1.0, 5.0), every=10.0)
    poller = Poller(sim.store, strategy, progress=False)

    outcomes = run_in_virtual_time(poller, sim.requests)

    check_staleness(sim.store, outcomes, cap=10.0 + sim.store.round_trip)
