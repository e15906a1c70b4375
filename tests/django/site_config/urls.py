from django.urls import path

from gallery import views

urlpatterns = [
    path("upload", views.upload),
    path("media/<path:name>", views.protected_media),
]
