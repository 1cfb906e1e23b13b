"""Django integration of libmediastore.

``mediastore.django.MediaStoreStorage`` implements Django's Storage API
(Django 3.2) over a :class:`mediastore.Store`; use it as
``DEFAULT_FILE_STORAGE = "mediastore.django.MediaStoreStorage"``.
"""

from .storage import MediaStoreStorage

__all__ = ["MediaStoreStorage"]
