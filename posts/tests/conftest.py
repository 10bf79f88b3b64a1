"""Posts tests use the same fixtures as the accounts tests: people made by the sign-up
service, API clients with their own token, generous throttles."""

from accounts.tests.conftest import (  # noqa: F401  (fixtures are found by name)
    PASSWORD,
    _generous_throttles,
    client_for,
    make_user,
)
