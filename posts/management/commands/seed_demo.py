"""Demo data for a fresh install: a few people who follow each other, have posted, replied
and liked each other's posts.

Idempotent: people are found by handle, posts are only added to someone with none, and
follows, likes and replies go through the services, which do nothing the second time —
so running it again (every ``make run`` does) changes nothing.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.services import follow_create
from posts.models import Post
from posts.services import like_create, post_create

DEMO_PASSWORD = "socialpay-demo"

DEMO_PEOPLE = [
    (
        "alice",
        "alice@example.com",
        "Alice Baker",
        "Baker. Sourdough on Saturdays.",
        [
            "Fresh sourdough out of the oven. Pay-what-you-want loaves this Saturday! #bread",
            "Thanks to everyone who tipped last week — the new starter is named Gerald.",
        ],
    ),
    (
        "bob",
        "bob@example.com",
        "Bob Ortiz",
        "Bikes, zines, pizza.",
        [
            "Pizza night was great. @alice I owe you for the flour.",
            "Working on a new zine about bikes. Early access for members soon. #zine",
        ],
    ),
    (
        "carol",
        "carol@example.com",
        "Carol Nguyen",
        "Risograph prints and cats.",
        [
            "New print series drops Friday: risograph cats, limited run of 30.",
            "Behind the scenes of the print shop, thread below.",
        ],
    ),
]

# (author, replying to the first post of, text)
DEMO_REPLIES = [
    ("bob", "alice", "Saving me a loaf? Happy to pay by @handle."),
    ("carol", "bob", "Count me in for the zine!"),
    ("alice", "carol", "The cat prints are gorgeous."),
]


class Command(BaseCommand):
    help = "Create demo users, follows, posts, replies and likes (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        if self._production():
            self.stderr.write("Refusing to load demo data with the production profile.")
            return
        User = get_user_model()
        people = {}
        for handle, email, name, bio, texts in DEMO_PEOPLE:
            user = User.objects.filter(handle_key=handle).first()
            if user is None:
                user = User.objects.create_user(
                    handle=handle, email=email, password=DEMO_PASSWORD, display_name=name, bio=bio
                )
                self.stdout.write(f"created @{handle}")
            people[handle] = user
            if not Post.objects.filter(author=user).exists():
                for text in texts:
                    post_create(author=user, text=text)
        for a in people.values():
            for b in people.values():
                if a.pk != b.pk:
                    follow_create(follower=a, followee=b)
        for author, parent_author, text in DEMO_REPLIES:
            parent = (
                Post.objects.filter(author=people[parent_author], reply_to__isnull=True)
                .order_by("id")
                .first()
            )
            if not Post.objects.filter(author=people[author], reply_to=parent).exists():
                post_create(author=people[author], text=text, reply_to_id=parent.pk)
            like_create(user=people[author], post_id=parent.pk)
        if not User.objects.filter(handle_key="admin").exists():
            # "admin" is a reserved handle for sign-ups; the demo staff account may use it.
            User.objects.create_superuser(
                handle="admin", email="admin@example.com", password=DEMO_PASSWORD
            )
            self.stdout.write("created staff user @admin")
        self.stdout.write(self.style.SUCCESS("demo data ready"))

    @staticmethod
    def _production() -> bool:
        from django.conf import settings

        return settings.PROFILE == "production"
