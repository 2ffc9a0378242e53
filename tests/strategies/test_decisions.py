"""The built-in strategies' decisions, on hand-made boards: no clock, no I/O."""

from __future__ import annotations

import pytest

from polling import (
    Board,
    Capabilities,
    Check,
    ConfigError,
    JobId,
    JobState,
    JobStatus,
    Reply,
    RequestKind,
    Submitted,
    Tracked,
    strategy_from,
    strategy_from_toml,
)
from strategies import Adaptive, Batch, Predictive, Sample, Semaphore, Stack

FULL = Capabilities(
    batch_submit=1000,
    batch_status=3,
    batch_results=3,
    wait=30.0,
    feed=1000,
    feed_wait=30.0,
)
SDK_ONLY = Capabilities()


def _board(count: int, capabilities: Capabilities, now: float = 0.0) -> Board:
    pending = {
        JobId(f"job-{i}"): Tracked(JobId(f"job-{i}"), i, submitted_at=0.0)
        for i in range(count)
    }
    return Board(capabilities=capabilities, now=now, server_now=now, pending=pending)


def _submit_all(poll: object, board: Board) -> None:
    observe = getattr(poll, "observe")  # noqa: B009 - any Poll, by its protocol
    observe(Submitted(tuple(board.pending)), board)


def _answer(check: Check, board: Board, status: JobStatus, at: float) -> Reply:
    states = {job_id: JobState(job_id, status) for job_id in check.job_ids}
    for job_id in check.job_ids:
        board.pending[job_id].in_flight = 0
        board.pending[job_id].status = status
    return Reply(check, sent_at=at - 0.02, received_at=at, states=states)


def test_semaphore_sends_no_more_than_its_concurrency() -> None:
    """With 100 jobs due, a semaphore of 5 sends 5 gets and waits for answers."""
    board = _board(100, SDK_ONLY)
    poll = Semaphore(concurrency=5, interval=1.0).start(board)
    _submit_all(poll, board)
    board.now = 1.0

    first = poll.decide(board)
    again = poll.decide(board)

    assert len(first.checks) == 5
    assert all(check.kind is RequestKind.GET for check in first.checks)
    assert again.checks == []


def test_semaphore_refills_one_for_each_answer() -> None:
    """Each answer frees one place in the pool, taken by the next due job."""
    board = _board(100, SDK_ONLY)
    poll = Semaphore(concurrency=5, interval=1.0).start(board)
    _submit_all(poll, board)
    board.now = 1.0
    sent = poll.decide(board).checks

    for check in sent[:2]:
        poll.observe(_answer(check, board, JobStatus.RUNNING, 1.02), board)
    board.now = 1.02

    assert len(poll.decide(board).checks) == 2


def test_batch_chunks_status_to_the_declared_size() -> None:
    """Ten pending jobs and a batch size of 3 make four batch status requests."""
    board = _board(10, FULL)
    poll = Batch(use_feed=False, use_wait=False).start(board)

    checks = poll.decide(board).checks

    assert [len(check.job_ids) for check in checks] == [3, 3, 3, 1]
    assert {check.kind for check in checks} == {RequestKind.BATCH_STATUS}


def test_batch_reads_results_of_finished_jobs_in_batches() -> None:
    """Jobs a status sweep found finished are fetched with batch results."""
    board = _board(4, FULL)
    poll = Batch(use_feed=False, use_wait=False).start(board)
    [first, second] = poll.decide(board).checks
    poll.observe(_answer(first, board, JobStatus.COMPLETED, 0.02), board)
    board.now = 0.02

    checks = poll.decide(board).checks

    assert checks == [Check(RequestKind.BATCH_RESULTS, first.job_ids)]
    assert second.job_ids == (JobId("job-3"),)


def test_batch_keeps_one_feed_request_open() -> None:
    """On the feed, one request is out at a time, resuming at the last cursor."""
    board = _board(10, FULL)
    poll = Batch(wait=5.0, feed_pause=0.0).start(board)
    [feed] = poll.decide(board).checks

    assert poll.decide(board).checks == []
    done = JobState(JobId("job-0"), JobStatus.COMPLETED, has_result=True)
    poll.observe(Reply(feed, 0.0, 0.3, {done.job_id: done}, cursor="7"), board)
    board.now = 0.3

    [following] = poll.decide(board).checks
    assert (feed.kind, feed.cursor, feed.wait) == (RequestKind.FEED, None, 5.0)
    assert following.cursor == "7"


def test_adaptive_backs_off_while_nothing_finishes() -> None:
    """A round that finishes nothing grows the pause, up to the cap."""
    board = _board(2, SDK_ONLY)
    poll = Adaptive(min_interval=1.0, max_interval=2.0, growth=1.5).start(board)
    rounds: list[float] = []
    for _ in range(4):
        checks = poll.decide(board).checks
        at = board.now + 0.02
        for check in checks:
            poll.observe(_answer(check, board, JobStatus.RUNNING, at), board)
        wake_at = poll.decide(board).wake_at
        assert wake_at is not None
        rounds.append(wake_at)
        board.now = wake_at

    gaps = [b - a for a, b in zip([0.0, *rounds], rounds, strict=False)]
    assert [round(gap - 0.02, 3) for gap in gaps] == [1.5, 2.0, 2.0, 2.0]


def test_sample_checks_overdue_jobs_besides_the_sample() -> None:
    """A job about to pass the staleness cap is checked even if not sampled."""
    board = _board(50, SDK_ONLY, now=9.0)
    poll = Sample(size=1, interval=2.0, max_staleness=10.0).start(board)

    checked = {check.job_ids[0] for check in poll.decide(board).checks}

    assert checked == set(board.pending)


def _first_check_time(poll: object, board: Board) -> float:
    """Decide at each wake-up until a check goes out; return when it did."""
    decide = getattr(poll, "decide")  # noqa: B009 - any Poll, by its protocol
    for _ in range(50):
        decision = decide(board)
        if decision.checks:
            return board.now
        board.now = board.server_now = decision.wake_at
    raise AssertionError("no check went out")


def test_predictive_first_checks_one_spacing_after_submit() -> None:
    """Knowing nothing yet, a job is first checked one target delay after submit
    (less the planning grid), and not before."""
    board = _board(1, SDK_ONLY)
    poll = Predictive(target_delay=2.0).start(board)
    _submit_all(poll, board)

    assert _first_check_time(poll, board) == pytest.approx(1.99)


def test_predictive_checks_a_running_job_after_its_early_end() -> None:
    """A job seen running since t=5 is checked next one spacing after t=5 + the
    lowest run time seen."""
    board = _board(1, SDK_ONLY)
    poll = Predictive(target_delay=2.0, early_quantile=0.5).start(board)
    _submit_all(poll, board)
    [job_id] = board.pending
    _first_check_time(poll, board)
    for duration in (3.0, 3.0, 3.0, 3.0):
        done = JobState(
            JobId("x"), JobStatus.COMPLETED, started_at=0.0, completed_at=duration
        )
        poll.observe(
            Reply(Check(RequestKind.GET, (JobId("x"),)), 0.0, 0.0, {JobId("x"): done}),
            board,
        )
    running = JobState(job_id, JobStatus.RUNNING, started_at=5.0)
    board.pending[job_id].status = JobStatus.RUNNING
    board.pending[job_id].started_at = 5.0
    poll.observe(
        Reply(Check(RequestKind.GET, (job_id,)), 5.98, 6.0, {job_id: running}), board
    )

    assert poll.decide(board).wake_at == pytest.approx(5.0 + 3.0 + 1.99)


def test_stack_starts_with_batch_where_the_api_has_it() -> None:
    """On the full API the stack's first decision is a feed request."""
    board = _board(3, FULL)
    poll = Stack().start(board)
    _submit_all(poll, board)

    [check] = poll.decide(board).checks

    assert check.kind is RequestKind.FEED


def test_stack_hands_every_pending_job_to_the_next_layer() -> None:
    """When batch routes prove absent mid-run, single gets take over every job."""
    board = _board(3, FULL)
    poll = Stack(layers=(Batch(), Semaphore(interval=1.0))).start(board)
    _submit_all(poll, board)
    poll.decide(board)
    board.capabilities = SDK_ONLY
    board.now = 1.0
    handed_over = poll.decide(board)
    board.now = 2.0

    checks = poll.decide(board).checks
    assert handed_over.checks == []

    assert sorted(check.job_ids[0] for check in checks) == sorted(board.pending)
    assert {check.kind for check in checks} == {RequestKind.GET}


def test_stack_with_no_usable_layer_says_so() -> None:
    """A stack of batch alone on an API without batch routes is refused by name."""
    with pytest.raises(ConfigError, match="no layer of the stack \\(Batch\\)"):
        Stack(layers=(Batch(),)).start(_board(1, SDK_ONLY))


def test_or_builds_one_flat_stack() -> None:
    """`a | b | c` is one stack of three layers, however it is grouped."""
    left = (Batch() | Semaphore()) | Predictive()
    right = Batch() | (Semaphore() | Predictive())

    assert left == right == Stack(layers=(Batch(), Semaphore(), Predictive()))


def test_stack_layers_come_from_nested_config() -> None:
    """A mapping with layers given by name and by nested mapping builds them."""
    spec = {
        "name": "stack",
        "layers": ["batch", {"name": "semaphore", "concurrency": 5}],
    }

    built = strategy_from(spec)

    assert built == Stack(layers=(Batch(), Semaphore(concurrency=5)))


def test_stack_flat_spec_sets_its_target() -> None:
    """`stack:target_delay=10` on the command line is the stack with that target."""
    assert strategy_from("stack:target_delay=10") == Stack(target_delay=10)


def test_stack_from_a_toml_table() -> None:
    """A TOML table with nested layer tables builds the same stack."""
    text = """
    [strategy]
    name = "stack"
    [[strategy.layers]]
    name = "batch"
    interval = 0.5
    [[strategy.layers]]
    name = "predictive"
    target_delay = 5
    """

    built = strategy_from_toml(text)

    assert built == Stack(layers=(Batch(interval=0.5), Predictive(target_delay=5)))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("semaphore:concurrency=0", "concurrency must be at least 1"),
        ("semaphore:concurrency=2.5", "concurrency must be a whole number"),
        ("adaptive:growth=1", "growth must be above 1"),
        ("adaptive:min_interval=5,max_interval=1", "max_interval .* is below"),
        ("batch:interval=-1", "interval must be positive"),
        ("sample:sweep_above=2", "sweep_above must be a number in"),
        ("stack:layers=nothing", "unknown strategy 'nothing'"),
        ("stack:delay=3", "no parameter 'delay'; allowed: layers, target_delay"),
        ("stack:target_delay=1,target_delay=2", "'target_delay' given twice"),
    ],
)
def test_bad_parameters_are_refused_by_name(spec: str, message: str) -> None:
    """Each bad strategy parameter is refused with a message naming it."""
    with pytest.raises(ConfigError, match=message):
        strategy_from(spec)


def test_batch_slows_down_on_a_feed_that_does_not_hold() -> None:
    """An empty feed page answered at once is not asked again before `interval`."""
    board = _board(3, FULL)
    poll = Batch(interval=1.0, wait=5.0).start(board)
    [feed] = poll.decide(board).checks
    poll.observe(Reply(feed, sent_at=0.0, received_at=0.02, cursor="0"), board)
    board.now = 0.02

    decision = poll.decide(board)

    assert decision.checks == []
    assert decision.wake_at == pytest.approx(1.02)


def _feed_page(feed: Check, size: int, received_at: float) -> Reply:
    states = {
        JobId(f"old-{i}"): JobState(JobId(f"old-{i}"), JobStatus.COMPLETED)
        for i in range(size)
    }
    return Reply(feed, received_at - 0.02, received_at, states, cursor=str(size))


def test_batch_pauses_after_a_feed_page_that_was_not_full() -> None:
    """A part page means the feed has caught up: wait `feed_pause` to gather."""
    board = _board(3, FULL)
    poll = Batch(wait=5.0, feed_pause=0.5).start(board)
    [feed] = poll.decide(board).checks
    poll.observe(_feed_page(feed, 999, received_at=1.0), board)
    board.now = 1.0

    decision = poll.decide(board)

    assert decision.checks == []
    assert decision.wake_at == pytest.approx(1.5)


def test_batch_asks_again_at_once_after_a_full_feed_page() -> None:
    """A full page means more are waiting: the next page is asked for at once."""
    board = _board(3, FULL)
    poll = Batch(wait=5.0, feed_pause=0.5).start(board)
    [feed] = poll.decide(board).checks
    poll.observe(_feed_page(feed, 1000, received_at=1.0), board)
    board.now = 1.0

    [following] = poll.decide(board).checks

    assert (following.kind, following.cursor) == (RequestKind.FEED, "1000")


def test_the_stacks_target_delay_sets_its_feed_pause() -> None:
    """A longer target delay on the stack buys fewer feed requests."""
    [batch, _] = Stack(target_delay=8.0).chosen_layers()

    assert isinstance(batch, Batch)
    assert batch.feed_pause == pytest.approx(1.0)
