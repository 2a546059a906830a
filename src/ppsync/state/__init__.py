"""ppsync's local state in SQLite: the only SQL in ppsync.

``core`` holds ``State`` (runs, meta and the open/close/lock logic), composed of the table-group
mixins ``files``, ``export``, ``uploads`` and ``set_aside`` over ``base``; ``migrations`` holds
the schema version and the forward migrations. Other packages import only from here.
"""

from ppsync.state.core import State, set_run_origin
from ppsync.state.migrations import MIGRATIONS, SCHEMA_VERSION
from ppsync.state.set_aside import AsideRow, AsideTotals
from ppsync.state.uploads import UploadRecord, UploadStatus

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "AsideRow", "AsideTotals", "State", "UploadRecord",
           "UploadStatus", "set_run_origin"]
