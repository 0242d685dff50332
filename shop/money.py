"""How money is written, everywhere: pages, emails, the admin and the Stripe emulator's pages.

One rule, "$154.95 AUD": the currency's symbol, the amount with thousands separated and two
decimals, a space, the ISO code in capitals. The code is always there because "$" alone is also
the American, Canadian and New Zealand dollar, and customers abroad read the shop too. Amounts are
stored as integer minor units (cents); only this module turns them into text.
"""

from __future__ import annotations

SYMBOLS = {"aud": "$", "nzd": "$", "usd": "$", "cad": "$", "eur": "€", "gbp": "£", "jpy": "¥"}
# Stripe's zero-decimal currencies: the minor unit is the whole unit (¥500 is 500, not 5.00).
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)


def format_money(amount: int, currency: str = "aud") -> str:
    """Minor units as text: ``15495`` → ``"$154.95 AUD"``; ``-500`` → ``"-$5.00 AUD"``.

    A currency without a known symbol is written by its code alone (``"12.00 XYZ"``).
    """
    code = (currency or "aud").lower()
    sign = "-" if amount < 0 else ""
    amount = abs(int(amount))
    if code in ZERO_DECIMAL:
        number = f"{amount:,}"
    else:
        units, cents = divmod(amount, 100)
        number = f"{units:,}.{cents:02d}"
    return f"{sign}{SYMBOLS.get(code, '')}{number} {code.upper()}"
