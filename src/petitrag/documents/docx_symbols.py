"""Characters of Word's ``w:sym`` runs: a symbol inserted from a font (Insert > Symbol),
stored as the font's own code rather than as Unicode text.
"""

from __future__ import annotations

_GREEK = "ΑΒΧΔΕΦΓΗΙϑΚΛΜΝΟΠΘΡΣΤΥςΩΞΨΖ"  # Symbol's A..Z
#: the Symbol font's codes (0x20-0xFF) other than Latin letters, by Unicode character
_SYMBOL = {
    **{ord("A") + n: char for n, char in enumerate(_GREEK)},
    **{ord("a") + n: char for n, char in enumerate(_GREEK.lower().replace("ϑ", "ϕ").replace("ς", "ϖ"))},
    0x22: "∀", 0x24: "∃", 0x27: "∋", 0x2A: "∗", 0x2D: "−", 0x40: "≅", 0x5C: "∴", 0x5E: "⊥",
    0xA2: "′", 0xA3: "≤", 0xA5: "∞", 0xA7: "♣", 0xA8: "♦", 0xA9: "♥", 0xAA: "♠", 0xAB: "↔",
    0xAC: "←", 0xAD: "↑", 0xAE: "→", 0xAF: "↓", 0xB0: "°", 0xB1: "±", 0xB2: "″", 0xB3: "≥",
    0xB4: "×", 0xB5: "∝", 0xB6: "∂", 0xB7: "•", 0xB8: "÷", 0xB9: "≠", 0xBA: "≡", 0xBB: "≈",
    0xBC: "…", 0xC6: "∅", 0xC7: "∩", 0xC8: "∪", 0xCE: "∈", 0xCF: "∉", 0xD0: "∠", 0xD1: "∇",
    0xD2: "®", 0xD3: "©", 0xD4: "™", 0xD5: "∏", 0xD6: "√", 0xD7: "⋅", 0xD8: "¬", 0xD9: "∧",
    0xDA: "∨", 0xDB: "⇔", 0xDC: "⇐", 0xDD: "⇑", 0xDE: "⇒", 0xDF: "⇓", 0xE5: "∑", 0xF2: "∫",
}  # fmt: skip
#: the Wingdings codes documents use as text: check marks, boxes, bullets, arrows
_WINGDINGS = {0x6C: "●", 0x6F: "☐", 0x71: "❑", 0x9F: "•", 0xA7: "▪", 0xA8: "☐", 0xD8: "➢", 0xE0: "→",
              0xE8: "➔", 0xFB: "✗", 0xFC: "✓", 0xFD: "☒", 0xFE: "☑"}  # fmt: skip
_FONTS = {"symbol": _SYMBOL, "wingdings": _WINGDINGS}
_PRIVATE_USE = 0xF000  # Word writes a symbol font's code c as U+F0cc


def symbol(font: str, code: str) -> str:
    """The character ``w:sym`` stands for ("F0B0" in Symbol is "°"), "" when unknown: a
    symbol font's code is a letter in any other font ("F0B0" in Wingdings is no "°")."""
    try:
        number = int(code, 16)
    except ValueError:
        return ""
    if not _PRIVATE_USE <= number <= _PRIVATE_USE + 0xFF:
        return chr(number) if 0x20 <= number < 0xD800 else ""  # a Unicode character already
    table = _FONTS.get(font.strip().casefold(), {})
    return table.get(number - _PRIVATE_USE, "")
