"""POST /api/keeps/upload/ and GET /api/keeps/upload/{id}/status/."""

from __future__ import annotations

from typing import Dict, Optional

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

import mediastore

from . import services
from .models import ApiToken, CircleMembership, Keep, KeepMedia, MediaUpload


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _user(request: HttpRequest) -> Optional[AbstractBaseUser]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    token = ApiToken.objects.select_related("user").filter(key=key.strip()).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


def _is_member(user: AbstractBaseUser, keep: Keep) -> bool:
    return CircleMembership.objects.filter(circle_id=keep.circle_id, user=user).exists()


@csrf_exempt
@require_POST
def upload(request: HttpRequest) -> JsonResponse:
    user = _user(request)
    if user is None:
        return _error(401, "authentication required: Authorization: Bearer <token>")
    keep_id = request.POST.get("keep_id", "")
    if not keep_id.isdigit():
        return _error(400, "keep_id is required")
    keep = Keep.objects.filter(pk=int(keep_id)).first()
    if keep is None:
        return _error(404, f"keep {keep_id} not found")
    if not _is_member(user, keep):
        return _error(403, "only members of the keep's circle may upload")
    media_type = request.POST.get("media_type", "photo")
    if media_type not in ("photo", "video"):
        return _error(400, "media_type must be photo or video")
    f = request.FILES.get("file")
    if f is None:
        return _error(400, "file is required")
    # Refused before any processing: nothing is spooled, queued or recorded.
    limit = services.max_upload_size()
    if f.size > limit:
        return _error(413, f"{f.name} is {f.size} bytes, over the {limit}-byte upload limit")
    caption = request.POST.get("caption", "")
    source = f.temporary_file_path() if hasattr(f, "temporary_file_path") else f.read()
    try:
        upload_id = services.uploads().submit(
            source,
            f.name,
            content_type=f.content_type or "",
            media_kind=media_type,
            context={"keep_id": str(keep.pk), "user_id": str(user.pk), "caption": caption},
        )
    except mediastore.TooLargeError as e:
        return _error(413, str(e))
    except mediastore.InvalidArgumentError as e:
        return _error(400, str(e))
    # The worker's end hook may have written the row already (a fast upload
    # ends before this line): fill it in, keeping the status it wrote.
    record, _ = MediaUpload.objects.update_or_create(
        id=upload_id,
        defaults=dict(
            keep=keep,
            uploaded_by=user,
            media_type=media_type,
            caption=caption,
            original_filename=f.name,
            size=f.size,
        ),
    )
    return JsonResponse(
        {
            "id": str(record.id),
            "status": "pending",
            "keep_id": keep.pk,
            "media_type": media_type,
            "caption": caption,
            "original_filename": f.name,
            "size": f.size,
            "status_url": f"/api/keeps/upload/{record.id}/status/",
            "created_at": record.created_at.isoformat(),
        },
        status=202,
    )


def _url(name: str) -> Optional[str]:
    return default_storage.url(name) if name else None


@require_GET
def upload_status(request: HttpRequest, upload_id) -> JsonResponse:
    user = _user(request)
    if user is None:
        return _error(401, "authentication required: Authorization: Bearer <token>")
    record = MediaUpload.objects.select_related("keep").filter(pk=upload_id).first()
    if record is None or not (record.uploaded_by_id == user.pk or _is_member(user, record.keep)):
        return _error(404, f"upload {upload_id} not found")
    try:
        st = services.sync(record)
    except mediastore.NotFoundError:
        return _error(404, f"upload {upload_id} not found")
    media = KeepMedia.objects.filter(upload=record).first()
    result = st.result if media else None
    # Every stored format of every size: {"small": {"jpeg": url, "webp": url, ...}, ...}.
    thumbnails: Dict[str, Dict[str, Optional[str]]] = {}
    for t in result.thumbnails if result else []:
        thumbnails.setdefault(t.name, {})[t.format] = _url(t.key)
    body = {
        "id": str(record.id),
        "status": record.status,
        "stage": st.stage,
        "progress_percentage": record.progress_percentage,
        "attempt": st.attempt,
        "media_file_url": _url(media.file.name) if media else None,
        "thumbnail_urls": {
            "small": _url(media.thumbnail_small.name) if media else None,
            "medium": _url(media.thumbnail_medium.name) if media else None,
            "large": _url(media.thumbnail_large.name) if media else None,
        },
        "thumbnails": thumbnails,
        # A placeholder to paint before a thumbnail arrives, and the perceptual hash.
        "thumbhash": (result.metadata.get("thumbhash") or None) if result else None,
        "phash": (result.metadata.get("phash") or None) if result else None,
        "keep_media_id": media.pk if media else None,
        "error": record.error or None,
    }
    return JsonResponse(body)
