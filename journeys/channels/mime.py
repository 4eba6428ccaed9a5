"""An email's bytes, composed directly: RFC 5322 headers (RFC 2047 words where not ASCII) and a
text body with an optional HTML alternative (quoted-printable where not plain 7-bit text).

Plain functions on strings, no I/O. `email.message.EmailMessage` does the same through its
header registry, which parses and refolds every header: most of a send's CPU at hundreds of
messages per second. Header values are checked instead: a CR or LF (header injection) is
refused, addresses must be one plain address each.
"""

from __future__ import annotations

import email.utils
import hashlib
import re
from collections.abc import Sequence
from email.header import Header
from email.quoprimime import body_encode

CRLF = "\r\n"
#: RFC 5322's hard limit on a line, CRLF excluded.
MAX_LINE = 998
_ADDR_SPEC = re.compile(r"^[^\s@<>()\[\],;:\\\"]+@[^\s@<>()\[\],;:\\\"]+\.[^\s@<>()\[\],;:\\\"]+$")
_ASCII_TEXT = re.compile(r"^[\x20-\x7e\t\r\n]*$")


class MimeError(ValueError):
    """A header or address that cannot go into a message safely; says which and why."""


def _ascii(text: str) -> bool:
    return text.isascii()


def header_line(name: str, value: str) -> str:
    """`Name: value`, refusing a CR or LF in the value and encoding non-ASCII as RFC 2047
    words (folded, each line within 78 characters)."""
    if "\r" in value or "\n" in value:
        raise MimeError(f"the {name} header contains a line break")
    if _ascii(value):
        if len(name) + 2 + len(value) > MAX_LINE:
            raise MimeError(f"the {name} header is longer than {MAX_LINE} characters")
        return f"{name}: {value}"
    encoded = Header(value, "utf-8", header_name=name).encode(linesep=CRLF)
    return f"{name}: {encoded}"


def address(name: str, value: str) -> tuple[str, str]:
    """(the header text, the bare address) of one mailbox such as `a@b.example` or
    `Shop <a@b.example>`; a display name that is not ASCII is encoded, a domain that is not
    ASCII is converted to IDNA."""
    if "\r" in value or "\n" in value:
        raise MimeError(f"the {name} address contains a line break")
    pairs = email.utils.getaddresses([value])
    if len(pairs) != 1 or not pairs[0][1]:
        raise MimeError(f"the {name} address is not one email address")
    display, addr = pairs[0]
    local, _, domain = addr.rpartition("@")
    if not local or not domain:
        raise MimeError(f"the {name} address is not one email address")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise MimeError(f"the {name} address has a domain IDNA cannot encode") from exc
    if not local.isascii():
        raise MimeError(f"the {name} address has a non-ASCII local part (SMTPUTF8 is not used)")
    addr = f"{local}@{domain}"
    if not _ADDR_SPEC.match(addr):
        raise MimeError(f"the {name} address is not one email address")
    text = email.utils.formataddr((display, addr), charset="utf-8") if display else addr
    return text, addr


def _body_part(text: str, subtype: str) -> list[str]:
    """A text part's headers and encoded body lines (CRLF line ends)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.removesuffix("\n").split("\n")
    plain = _ASCII_TEXT.match(text) is not None and all(len(line) <= MAX_LINE for line in lines)
    if not plain:
        # quoprimime encodes characters as bytes: give it the UTF-8 bytes, one per character
        latin = "\n".join(lines).encode("utf-8").decode("latin-1")
        lines = body_encode(latin, maxlinelen=76, eol="\n").split("\n")
    return [
        f'Content-Type: text/{subtype}; charset="utf-8"',
        f"Content-Transfer-Encoding: {'7bit' if plain else 'quoted-printable'}",
        "",
        *lines,
    ]


def _boundary(seed: str, parts: Sequence[list[str]]) -> str:
    """A multipart boundary derived from `seed` (the same message gives the same bytes) that
    occurs in none of the parts."""
    for attempt in range(100):
        token = hashlib.sha256(f"{seed}\x1f{attempt}".encode()).hexdigest()[:32]
        boundary = f"=_mc_{token}"
        if not any(boundary in line for part in parts for line in part):
            return boundary
    raise MimeError("no multipart boundary avoids the message's text")  # pragma: no cover


def compose(headers: Sequence[str], text: str, html: str | None = None) -> bytes:
    """The message: `headers` in order (lines made with `header_line` or `address`),
    MIME-Version, then the text body, or a multipart/alternative of text and HTML."""
    lines = [*headers, "MIME-Version: 1.0"]
    plain = _body_part(text, "plain")
    if html is None:
        lines.extend(plain)
    else:
        rich = _body_part(html, "html")
        seed = "\n".join(headers)
        boundary = _boundary(seed, (plain, rich))
        lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        lines.append("")
        for part in (plain, rich):
            lines.append(f"--{boundary}")
            lines.extend(part)
        lines.append(f"--{boundary}--")
    return (CRLF.join(lines) + CRLF).encode("ascii")
