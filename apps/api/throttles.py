"""The API's rate limits, per signed-in user and per address for anonymous calls (rates in
settings: API_THROTTLE_USER, API_THROTTLE_ANON). The client's address is the one the login
lockout uses, never a client's own X-Forwarded-For; and a cache outage lets calls through
(with a warning) rather than failing them."""

import logging

from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from apps.accounts.addresses import client_address

log = logging.getLogger(__name__)


class _Rated:
    def get_rate(self):
        # Read when a request comes, not when the class is defined (tests change the rates).
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_address(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as error:
            log.warning("API throttle skipped: the cache is unavailable (%s)", error)
            return True


class AnonThrottle(_Rated, AnonRateThrottle):
    """Calls without credentials, per client address."""


class UserThrottle(_Rated, UserRateThrottle):
    """Calls of a signed-in user (per user; per address when anonymous)."""
