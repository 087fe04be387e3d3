import pytest

from infogan_bench.training.dwon import D_WON_SEPARATION, DWonPhase

WON, LOST = D_WON_SEPARATION, D_WON_SEPARATION - 0.01


def _phase(separations: list[float], every: int = 50) -> DWonPhase:
    return DWonPhase.of(
        {"step": every * (i + 1), "d_separation": s} for i, s in enumerate(separations)
    )


def test_counts_the_steps_of_the_intervals_in_the_phase_and_the_last_one():
    phase = _phase([LOST, WON, WON, LOST, WON, LOST])
    assert phase.summary() == {"d_won_steps": 150, "d_won_last_step": 250}
    assert phase.streak() == 0


def test_a_streak_runs_from_its_first_interval_to_the_last():
    phase = _phase([LOST, WON, WON, WON])
    assert (phase.since, phase.streak()) == (51, 150)


def test_a_run_that_never_separates_has_no_phase():
    assert _phase([0.5, 0.9, LOST]).summary() == {"d_won_steps": 0, "d_won_last_step": None}


def test_marks_each_row():
    row = {"step": 50, "d_separation": WON}
    DWonPhase().add(row)
    assert row["d_won"] == 1.0


def test_rows_without_separation_are_skipped():
    assert DWonPhase.of([{"step": 50, "d_real": 0.9}]).summary()["d_won_steps"] == 0


@pytest.mark.parametrize("rows", [[WON] * 4, [LOST, WON, WON]])
def test_rebuilt_from_rows_equals_built_row_by_row(rows):
    live = DWonPhase()
    for i, s in enumerate(rows):
        live.add({"step": 50 * (i + 1), "d_separation": s})
    assert live == _phase(rows)
