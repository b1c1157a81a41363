"""Text that came from a submission (its file name, the messages of its exceptions, what its kernel printed),
made safe for where it goes: a terminal, a CSV cell, a Markdown feedback file."""

def plain(text: str) -> str:
    """`text` without control characters (terminal escapes, bells, carriage returns): safe to print or store."""
    return "".join(c if c.isprintable() or c == "\n" else "\N{REPLACEMENT CHARACTER}" for c in str(text))


def cell(value):
    """A CSV cell that a spreadsheet shows as text: no formula (=, +, -, @ first), no control characters."""
    if not isinstance(value, str):
        return value
    value = plain(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\*_[]#|!"} | {"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def md(text) -> str:
    """Text on one Markdown line that renders as itself: no HTML, links, emphasis or table breaks from what a
    submission put in a message; `code spans` (the checks' own) are kept."""
    parts = " ".join(plain(text).split()).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code spans at all
        return "\\`".join(p.translate(_MARKDOWN) for p in parts)
    return "`".join(p.replace("|", "\\|") if i % 2 else p.translate(_MARKDOWN) for i, p in enumerate(parts))
