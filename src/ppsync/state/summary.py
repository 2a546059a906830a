"""What ``status`` and the status page show of a mirror's state, read in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ppsync.state.reader import StateReader, state_exists


def read_summary(path: Path, runs: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The newest ``runs`` runs and the mirror's totals (files, bytes, kept, what is set aside,
    damaged files, when the last scrub cycle ended), as ``status`` and the status page show
    them. Read-only where the schema allows; the full way (``State.open``, which migrates) for
    a state this reader may not answer for. No state: no runs, zero totals."""
    totals: dict[str, Any] = {"files": 0, "bytes": 0, "kept": 0,
                              "set_aside": {"files": 0, "bytes": 0, "oldest": None}}
    if not state_exists(path):
        return [], totals
    reader = StateReader.open(path)
    if reader is None:
        from ppsync.state.core import State  # sqlite-utils: only for a state to migrate

        return _summary(State.open(path), runs)
    return _summary(reader, runs)


def _summary(state: Any, runs: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``read_summary`` over a ``StateReader`` or a ``State`` (the same answers), closed after."""
    try:
        newest = state.last_runs(runs)
        aside = state.set_aside_totals()  # as the last pass counted them: no disk walk
        done = state.get_meta("scrub_cycle_done")  # mirror.scrub.CYCLE_DONE_KEY
        damaged = (state.count_damaged() if isinstance(state, StateReader)
                   else len(state.damaged_records()))
        return newest, {"files": state.count_active(), "bytes": state.active_bytes(),
                        "kept": state.count_kept(),
                        "set_aside": {"files": aside.files, "bytes": aside.bytes,
                                      "oldest": aside.oldest},
                        "damaged": damaged,
                        "scrub_cycle_done_at": int(float(done)) if done else 0}
    finally:
        state.close()
