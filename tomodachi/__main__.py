"""`python -m tomodachi`: the command line."""

from tomodachi.cli import cli_entrypoint

if __name__ == "__main__":
    cli_entrypoint()
