"""Object storage adapters: S3 (or any S3-compatible store) and the embedded local store.

``open_storage(settings, base_url_provider)`` picks one: S3 when a bucket is configured,
otherwise the local store under the data folder, served by the embedded server's signed
``/storage`` URLs. Mount those on the server with
``ecg_desktop.server.storage_routes.add_storage_routes(app, storage.filestore)``.
"""

from __future__ import annotations

from ecg_desktop.app.ports import ObjectStorage
from ecg_desktop.config import Settings

from ._s3_errors import S3Error, S3Unreachable
from .local import BaseUrlProvider, LocalStorage, LocalStorageError
from .localfs import LocalFileStore, LocalStoreError, StoredObject
from .s3 import S3Storage

__all__ = [
    "BaseUrlProvider",
    "LocalFileStore",
    "LocalStorage",
    "LocalStorageError",
    "LocalStoreError",
    "S3Error",
    "S3Storage",
    "S3Unreachable",
    "StoredObject",
    "open_storage",
]


def open_storage(settings: Settings, base_url_provider: BaseUrlProvider) -> ObjectStorage:
    """S3 when ``S3_BUCKET_NAME`` is set, else the local store in the data folder.

    ``base_url_provider`` returns the embedded server's base URL (empty until it has
    started); only the local store uses it, to sign its URLs. Opening the local store creates
    its folder and signing key, so call this from a worker thread if the loop is running.
    """
    if settings.uses_s3:
        return S3Storage(settings)
    filestore = LocalFileStore.open(settings.storage_dir)
    return LocalStorage(
        filestore,
        base_url_provider,
        part_size=settings.upload_part_size,
        url_expiry_s=settings.s3_presigned_url_expire,
    )
