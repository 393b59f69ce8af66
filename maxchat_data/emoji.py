"""T2: the emoji an agent picks or types as a ``:shortcode:``."""
from __future__ import annotations

import re

# The picker's set, in the order the picker shows it.
EMOJI = {
    "smile": "😊", "grin": "😁", "joy": "😂", "wink": "😉", "heart_eyes": "😍", "thinking": "🤔",
    "pray": "🙏", "thumbsup": "👍", "+1": "👍", "ok_hand": "👌", "clap": "👏", "wave": "👋",
    "heart": "❤️", "fire": "🔥", "tada": "🎉", "star": "⭐", "check": "✅", "x": "❌",
    "warning": "⚠️", "package": "📦", "truck": "🚚", "money": "💰", "phone": "📱", "clock": "⏰",
    "sad": "😢", "sweat_smile": "😅", "sunglasses": "😎", "rocket": "🚀", "gift": "🎁", "coffee": "☕",
}
PICKER = list(dict.fromkeys(EMOJI.values()))
_SHORTCODE = re.compile(r":([a-z0-9_+\-]+):")


def expand(text: str) -> str:
    """':thumbsup: thanks' -> '👍 thanks'; unknown codes stay as typed."""
    return _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)
