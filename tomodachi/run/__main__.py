"""`python -m tomodachi.run <service files> [options]`."""

import sys

from tomodachi.cli import cli_entrypoint

if __name__ == "__main__":
    cli_entrypoint(["tomodachi", "run", *sys.argv[1:]])
