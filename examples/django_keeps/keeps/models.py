"""Circles of people share keeps; a keep holds media (photos, videos) with
thumbnails. MediaUpload tracks an upload the library is processing."""

import secrets
import uuid

from django.conf import settings
from django.db import models


class Circle(models.Model):
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class CircleMembership(models.Model):
    circle = models.ForeignKey(Circle, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="circle_memberships")
    role = models.CharField(max_length=20, default="member")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("circle", "user")]


class Keep(models.Model):
    circle = models.ForeignKey(Circle, on_delete=models.CASCADE, related_name="keeps")
    title = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


MEDIA_TYPES = [("photo", "Photo"), ("video", "Video")]


class MediaUpload(models.Model):
    STATUS = [("pending", "Pending"), ("processing", "Processing"), ("completed", "Completed"), ("failed", "Failed")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # the library's upload id
    keep = models.ForeignKey(Keep, on_delete=models.CASCADE, related_name="uploads")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    media_type = models.CharField(max_length=10, choices=MEDIA_TYPES)
    caption = models.TextField(blank=True)
    original_filename = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=STATUS, default="pending")
    progress_percentage = models.IntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class KeepMedia(models.Model):
    keep = models.ForeignKey(Keep, on_delete=models.CASCADE, related_name="media")
    upload = models.OneToOneField(MediaUpload, on_delete=models.SET_NULL, null=True, related_name="keep_media")
    media_type = models.CharField(max_length=10, choices=MEDIA_TYPES)
    # Names are storage keys of DEFAULT_FILE_STORAGE (MediaStoreStorage).
    file = models.FileField(max_length=1024)
    thumbnail_small = models.FileField(max_length=1024, blank=True)
    thumbnail_medium = models.FileField(max_length=1024, blank=True)
    thumbnail_large = models.FileField(max_length=1024, blank=True)
    caption = models.TextField(blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    width = models.IntegerField(default=0)
    height = models.IntegerField(default=0)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(auto_now_add=True)


class ApiToken(models.Model):
    """Bearer tokens of the API ("Authorization: Bearer <key>")."""

    key = models.CharField(max_length=64, unique=True, default=secrets.token_hex)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
