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
from email.charset import Charset
from email.quoprimime import body_encode

import idna

CRLF = "\r\n"
#: RFC 5322's hard limit on a line, CRLF excluded.
MAX_LINE = 998
#: Control characters RFC 5322 allows in no header (tab is folding white space).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_LOCAL = r"[^\s@<>()\[\],;:\\\"\x00-\x1f\x7f]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
#: A host name (dots optional: `localhost` is a sender a local server takes) or a literal.
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[^\[\]\\\s\x00-\x1f\x7f]+\])"
_ADDR_SPEC = re.compile(rf"^{_LOCAL}@{_DOMAIN}$")
_ASCII_TEXT = re.compile(r"^[\x20-\x7e\t\r\n]*$")
_UTF8 = Charset("utf-8")
#: RFC 2047: an encoded word is at most 75 characters.
MAX_WORD = 75


class MimeError(ValueError):
    """A header or address that cannot go into a message safely; says which and why."""


def _check_text(what: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise MimeError(f"the {what} contains a line break")
    if _CONTROL.search(value):
        raise MimeError(f"the {what} contains a control character")


def _words(name: str, value: str) -> str:
    """`value` as RFC 2047 encoded words of whole characters, each within the 75 characters
    the RFC allows, one per line (folded)."""
    try:
        value.encode("utf-8")
    except UnicodeError:  # a lone surrogate, say
        raise MimeError(f"the {name} header is not valid Unicode text") from None
    words: list[str] = []
    chunk = ""
    for character in value:
        if chunk and len(_UTF8.header_encode(chunk + character)) > MAX_WORD:
            words.append(_UTF8.header_encode(chunk))
            chunk = ""
        chunk += character
    if chunk:
        words.append(_UTF8.header_encode(chunk))
    return (CRLF + " ").join(words)


def _within_limit(name: str, line: str) -> str:
    if any(len(part) > MAX_LINE for part in line.split(CRLF)):
        raise MimeError(f"the {name} header is longer than {MAX_LINE} characters")
    return line


def header_line(name: str, value: str) -> str:
    """`Name: value`, refusing line breaks and control characters in the value and encoding
    non-ASCII as RFC 2047 words (folded, each line within 78 characters)."""
    _check_text(f"{name} header", value)
    if value.isascii():
        return _within_limit(name, f"{name}: {value}")
    return _within_limit(name, f"{name}: {_words(name, value)}")


def _ascii_domain(name: str, domain: str) -> str:
    """The domain as sent: IDNA 2008 (UTS 46, non-transitional, so `faß.de` stays itself and
    never becomes `fass.de`, another registrant's domain)."""
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise MimeError(f"the {name} address has a domain IDNA cannot encode") from None


def address(name: str, value: str) -> tuple[str, str]:
    """(the header line, the bare address) of one mailbox such as `a@b.example` or
    `Shop <a@b.example>`; a display name that is not ASCII is encoded, a domain that is not
    ASCII is converted to IDNA."""
    _check_text(f"{name} address", value)
    pairs = email.utils.getaddresses([value])
    if len(pairs) != 1 or not pairs[0][1]:
        raise MimeError(f"the {name} address is not one email address")
    display, addr = pairs[0]
    local, _, domain = addr.rpartition("@")
    if not local or not domain:
        raise MimeError(f"the {name} address is not one email address")
    if not local.isascii():
        raise MimeError(f"the {name} address has a non-ASCII local part (SMTPUTF8 is not used)")
    addr = f"{local}@{_ascii_domain(name, domain)}"
    if not _ADDR_SPEC.match(addr):
        raise MimeError(f"the {name} address is not one email address")
    if not display:
        line = f"{name}: {addr}"
    elif display.isascii():
        line = f"{name}: {email.utils.formataddr((display, addr))}"
    else:
        line = f"{name}: {_words(name, display)} <{addr}>"
    return _within_limit(name, line), addr


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
