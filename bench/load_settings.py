"""Settings of the server `bench/load.py` starts: the production settings unchanged, plus the
framework-floor route (`bench/floor_urls.py`). Used only by that bench, never in production:
production runs `acountee.settings`, whose urlconf has no such route."""

from acountee.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
