from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Paths exactly as the contract (`/users/me`), a trailing slash tolerated, never a redirect."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
