from django.core.files.storage import default_storage
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from .models import Photo

CHUNK = 64 * 1024


@csrf_exempt
def upload(request):
    """Saves an uploaded file as a Photo (the storage's _save)."""
    photo = Photo.objects.create(file=request.FILES["file"])
    return HttpResponse(photo.file.name)


def protected_media(request, name):
    """Streams a stored file as a site does for media behind a login:
    open, size, then reads of 64 KiB."""
    stored = default_storage.open(name)
    size = stored.size

    def chunks():
        try:
            while True:
                chunk = stored.read(CHUNK)
                if not chunk:
                    return
                yield chunk
        finally:
            stored.close()

    response = StreamingHttpResponse(chunks(), content_type="application/octet-stream")
    response["Content-Length"] = str(size)
    return response
