#!/usr/bin/env python
"""Django's command-line utility for Acountee."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")
    import django
    from django.core.management import execute_from_command_line

    from acountee.db.startup import check_database_reachable, command_needs_database

    django.setup()
    from audit.commands import process_actor

    if command_needs_database(sys.argv):
        check_database_reachable()
    with process_actor(sys.argv):  # every command, Django's own too, acts as system:<command>
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
