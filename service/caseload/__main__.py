"""``python -m service.caseload generate|evaluate|whatif …``: the caseload commands, also before
they are registered in ``eligibility`` itself."""

import sys

from service.caseload import commands  # noqa: F401  (registers the caseload sub-commands)
from service.cli import main

if __name__ == "__main__":
    sys.exit(main(["caseload", *sys.argv[1:]]))
