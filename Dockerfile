FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 VAR_DIR=/app/var
WORKDIR /app

COPY pyproject.toml requirements.lock README.md ./
COPY config ./config
COPY newsletter ./newsletter
COPY subscribers ./subscribers
RUN pip install -c requirements.lock '.[ses]'

COPY . .
# Settings refuse a SECRET_KEY under 32 characters with DEBUG off; this one
# only lets collectstatic import them and signs nothing.
RUN SECRET_KEY=collectstatic-only-signs-nothing-0123456789 ALLOWED_HOSTS=localhost POSTAL_ADDRESS=build \
    python manage.py collectstatic --no-input -v0 \
 && useradd --create-home app && mkdir -p /app/var && chown -R app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi"]
