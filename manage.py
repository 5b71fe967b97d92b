#!/usr/bin/env python
import os
import sys

HELP_FLAGS = {"-h", "--help"}


def asks_for_help(argv: list[str]) -> bool:
    """`manage.py`, `manage.py help [command]`, or a command with -h/--help (before any `--`)."""
    args = argv[1:]
    if not args or args[0] in HELP_FLAGS | {"help"}:
        return True
    options = args[1 : args.index("--")] if "--" in args else args[1:]
    return bool(HELP_FLAGS & set(options))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if asks_for_help(sys.argv):
        # Help lists the commands and their options: that needs the apps, not the secrets a
        # production start requires, so settings load as in development. Nothing runs.
        os.environ["DEBUG"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
