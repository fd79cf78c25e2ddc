from django.shortcuts import render


def subscribe(request):
    # The signup flow is not built yet; say so rather than show a form that
    # pretends to work.
    return render(request, "subscribers/subscribe_soon.html", status=200)
