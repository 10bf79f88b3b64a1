from django.apps import AppConfig


class PostsConfig(AppConfig):
    name = "posts"
    verbose_name = "Posts"

    def ready(self) -> None:
        # A person's data export and account closing (accounts sits below us and asks
        # through its registries, without importing us).
        from accounts.closing import closing_eraser_register
        from accounts.exports import export_section_register
        from posts import privacy

        export_section_register("posts", privacy.export_files)
        closing_eraser_register("posts", privacy.closing_erase)
