"""The `sagsgang` command line: `cli.main` assembles one group per part of the product."""
