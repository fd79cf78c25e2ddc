from django.conf import settings


def site(request):
    return {"SITE_NAME": settings.SITE_NAME, "POSTAL_ADDRESS": settings.POSTAL_ADDRESS}
