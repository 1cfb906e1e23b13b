from django.urls import path

from . import views

urlpatterns = [
    path("upload/", views.upload, name="keeps-upload"),
    path("upload/<uuid:upload_id>/status/", views.upload_status, name="keeps-upload-status"),
]
