"""Review 2's findings, fixed: each test proved a bug (strict xfail in the review's
tests/test_review2.py) and now holds. Against the fakes over loopback, with the real CLI
where a user would use it."""

from __future__ import annotations

# --- taken time: the same second is the same time when one side has no sub-seconds ----------


def test_a_taken_time_equal_to_the_second_is_left_alone() -> None:
    from ppsync.restore.taken import taken_time_change
    from ppsync.servers.base import Photo

    immich = Photo(key="p", taken_at="2024-05-12T08:15:00.370Z",
                   taken_at_local="2024-05-12T10:15:00.370")
    photoprism = {"taken_at": "2024-05-12T08:15:00Z", "taken_at_local": "2024-05-12T10:15:00Z",
                  "time_zone": "Europe/Berlin"}
    assert taken_time_change(photoprism, immich) is None
    # and the other way round: a sidecar with sub-seconds, a server in whole seconds
    whole = Photo(key="p", taken_at="2024-05-12T08:15:00Z", taken_at_local="2024-05-12T10:15:00")
    subsec = {"taken_at": "2024-05-12T08:15:00.370Z", "taken_at_local": "2024-05-12T10:15:00.370"}
    assert taken_time_change(subsec, whole) is None


def test_a_taken_time_a_second_or_a_sub_second_apart_is_still_set() -> None:
    from ppsync.restore.taken import taken_time_change
    from ppsync.servers.base import Photo

    sidecar = {"taken_at": "2024-05-12T08:15:00Z", "taken_at_local": "2024-05-12T10:15:00Z"}
    a_second_later = Photo(key="p", taken_at="2024-05-12T08:15:01.370Z",
                           taken_at_local="2024-05-12T10:15:01.370")
    assert taken_time_change(sidecar, a_second_later) == "2024-05-12T10:15:00+02:00"
    # both sides know sub-seconds, and they differ: burst order is what the sidecar says
    burst = {"taken_at": "2024-05-12T08:15:00.120Z", "taken_at_local": "2024-05-12T10:15:00.120"}
    other = Photo(key="p", taken_at="2024-05-12T08:15:00.370Z",
                  taken_at_local="2024-05-12T10:15:00.370")
    assert taken_time_change(burst, other) == "2024-05-12T10:15:00.120000+02:00"
