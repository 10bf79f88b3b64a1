"""Demo data for a fresh install: a few people who follow each other and have posted.

Idempotent: people are found by handle, and posts are only added to someone with none, so
running it again (every ``make run`` does) changes nothing.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from posts.models import Post

DEMO_PASSWORD = "socialpay-demo"

DEMO_PEOPLE = [
    (
        "alice",
        "alice@example.com",
        "Alice Baker",
        [
            "Fresh sourdough out of the oven. Pay-what-you-want loaves this Saturday!",
            "Thanks to everyone who tipped last week — the new starter is named Gerald.",
        ],
    ),
    (
        "bob",
        "bob@example.com",
        "Bob Ortiz",
        [
            "Pizza night was great. @alice I owe you for the flour.",
            "Working on a new zine about bikes. Early access for members soon.",
        ],
    ),
    (
        "carol",
        "carol@example.com",
        "Carol Nguyen",
        [
            "New print series drops Friday: risograph cats, limited run of 30.",
            "Behind the scenes of the print shop, thread below.",
        ],
    ),
]


class Command(BaseCommand):
    help = "Create demo users and posts (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        if self._production():
            self.stderr.write("Refusing to load demo data with the production profile.")
            return
        User = get_user_model()
        for handle, email, name, texts in DEMO_PEOPLE:
            user = User.objects.filter(handle_key=handle).first()
            if user is None:
                user = User.objects.create_user(
                    handle=handle, email=email, password=DEMO_PASSWORD, display_name=name
                )
                self.stdout.write(f"created @{handle}")
            if not Post.objects.filter(author=user).exists():
                for text in texts:
                    Post.objects.create(author=user, text=text)
        if not User.objects.filter(handle_key="admin").exists():
            User.objects.create_superuser(
                handle="admin", email="admin@example.com", password=DEMO_PASSWORD
            )
            self.stdout.write("created staff user @admin")
        self.stdout.write(self.style.SUCCESS("demo data ready"))

    @staticmethod
    def _production() -> bool:
        from django.conf import settings

        return settings.PROFILE == "production"
