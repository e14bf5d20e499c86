"""The ports the use cases depend on. Adapters (``store/``, ``storage/``, ``mlclient/``,
``media/``) implement them; ``bootstrap.py`` picks which. Only domain types cross these
interfaces. One module per port; everything is importable from ``app.ports``.
"""

from .jobs import (
    JobLocks as JobLocks,
)
from .jobs import (
    JobQuery as JobQuery,
)
from .jobs import (
    JobStore as JobStore,
)
from .jobs import (
    JobStoreError as JobStoreError,
)
from .jobs import (
    JobStoreUnavailable as JobStoreUnavailable,
)
from .jobs import (
    JobWriter as JobWriter,
)
from .jobs import (
    OffersJobWriter as OffersJobWriter,
)
from .jobs import (
    ResultRecord as ResultRecord,
)
from .jobs import (
    WorkerDied as WorkerDied,
)
from .jobs import (
    WorkerProcess as WorkerProcess,
)
from .jobs import (
    parse_json_yielding as parse_json_yielding,
)
from .jobs import (
    result_json_text as result_json_text,
)
from .media import (
    InspectsMedia as InspectsMedia,
)
from .media import (
    InvalidInputFile as InvalidInputFile,
)
from .media import (
    MediaInfo as MediaInfo,
)
from .metrics import (
    MetricsSink as MetricsSink,
)
from .metrics import (
    NullMetrics as NullMetrics,
)
from .ml import (
    DISPATCHED_TO as DISPATCHED_TO,
)
from .ml import (
    HealthReport as HealthReport,
)
from .ml import (
    MLClient as MLClient,
)
from .ml import (
    MLError as MLError,
)
from .ml import (
    MLServersBusy as MLServersBusy,
)
from .ml import (
    RemoteJobStatus as RemoteJobStatus,
)
from .ml import (
    RoutesJobs as RoutesJobs,
)
from .storage import (
    LocalFiles as LocalFiles,
)
from .storage import (
    LocalStoreError as LocalStoreError,
)
from .storage import (
    ObjectStorage as ObjectStorage,
)
from .storage import (
    PartCallback as PartCallback,
)
from .storage import (
    PartialUpload as PartialUpload,
)
from .storage import (
    ProgressCallback as ProgressCallback,
)
from .storage import (
    RangeWriter as RangeWriter,
)
from .storage import (
    RestartCallback as RestartCallback,
)
from .storage import (
    StorageError as StorageError,
)
from .storage import (
    StoredObject as StoredObject,
)
