"""What every command group shares: Danish errors instead of stack traces."""

import functools
import sys

import click

from workflow.errors import UserError

ACTOR_HELP = "Hvem der udfører handlingen (til revisionssporet)."


def user_errors(command):
    """Show a UserError as a clear message with exit code 1 instead of a stack trace."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except UserError as error:
            click.echo(f"Fejl: {error.message}", err=True)
            sys.exit(1)

    return wrapper
