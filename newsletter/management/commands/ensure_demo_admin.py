import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local demo admin account once and print its login."

    def handle(self, *args, **options):
        User = get_user_model()
        password_file = settings.VAR_DIR / "demo-admin-password.txt"
        user = User.objects.filter(username="admin").first()
        if user is None or not password_file.exists():
            # A random password kept in var/, so a demo laptop never has a
            # guessable admin/admin login.
            password = secrets.token_urlsafe(12)
            if user is None:
                User.objects.create_superuser("admin", "admin@localhost", password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        self.stdout.write(
            f"Admin: {settings.SITE_URL}/admin/  login: admin  password: {password}"
        )
