"""Django integration of libmediastore.

``mediastore.django.MediaStoreStorage`` implements Django's Storage API over a
:class:`mediastore.Store` (``STORAGES["default"]`` on Django 4.2+,
``DEFAULT_FILE_STORAGE`` on Django 3.2); ``MediaStoreStaticStorage`` is the
same for ``collectstatic``. See docs/django.md.
"""

from .storage import MediaStoreStaticStorage, MediaStoreStorage

__all__ = ["MediaStoreStaticStorage", "MediaStoreStorage"]
