"""``python -m service.caseload generate|evaluate|whatif …``: ``eligibility caseload …``."""

import sys

from service.cli import main

if __name__ == "__main__":
    sys.exit(main(["caseload", *sys.argv[1:]]))
