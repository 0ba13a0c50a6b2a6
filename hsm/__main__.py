"""Run the signer agent: `python -m hsm --data DIR ...` (user PIN on standard input)."""

import sys

from hsm.cli import main

sys.exit(main())
