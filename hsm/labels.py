"""Key labels: one per bot, exchange and kind (`bot-1.sim.hmac`), in a form every token stores."""

from __future__ import annotations

import re
from typing import TypeGuard

from hsm.const import KEY_LABEL_MAX, KEY_LABEL_PATTERN

_LABEL = re.compile(KEY_LABEL_PATTERN)

LABEL_RULE = (f"a key label has 1 to {KEY_LABEL_MAX} letters, digits, '.', '_' or '-' and "
              "starts with a letter or digit, e.g. bot-1.sim.hmac")
"""What a key label is, for error messages."""


def is_label(text: object) -> TypeGuard[str]:
    """Tell whether text is a valid key label."""
    return (isinstance(text, str) and len(text) <= KEY_LABEL_MAX
            and _LABEL.fullmatch(text) is not None)
