from django.urls import include, path

urlpatterns = [path("api/keeps/", include("keeps.urls"))]
