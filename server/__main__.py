"""`python -m server`: serve the app with uvicorn (see `server.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
