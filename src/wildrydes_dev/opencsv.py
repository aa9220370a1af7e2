"""Hive's OpenCSVSerde row parser (the Athena rides table's SerDe), for tests that read processed CSVs back.

A port of opencsv 2.3 ``CSVParser.parseLine`` with the table's settings (``separatorChar ,``, ``quoteChar "``,
``escapeChar \\``; strictQuotes false, ignoreLeadingWhiteSpace true). Athena splits a table file into lines
first (TextInputFormat), then applies this to each line.
"""

from __future__ import annotations


def opencsv_parse_line(line: str, separator: str = ",", quote: str = '"', escape: str = "\\") -> list[str]:
    """Hive's OpenCSVSerde row parser: a port of opencsv 2.3 CSVParser.parseLine (strictQuotes false,
    ignoreLeadingWhiteSpace true), the rules Athena applies to each line of a table file."""
    tokens: list[str] = []
    sb: list[str] = []
    in_quotes, in_field, i = False, False, 0
    n = len(line)
    while i < n:
        c = line[i]
        if c == escape:
            if (in_quotes or in_field) and i + 1 < n and line[i + 1] in (quote, escape):
                sb.append(line[i + 1])
                i += 1
        elif c == quote:
            if (in_quotes or in_field) and i + 1 < n and line[i + 1] == quote:
                sb.append(line[i + 1])
                i += 1
            else:
                if i > 2 and line[i - 1] != separator and i + 1 < n and line[i + 1] != separator:
                    if sb and "".join(sb).isspace():
                        sb = []
                    else:
                        sb.append(c)
                in_quotes = not in_quotes
            in_field = not in_field
        elif c == separator and not in_quotes:
            tokens.append("".join(sb))
            sb, in_field = [], False
        else:
            sb.append(c)
            in_field = True
        i += 1
    tokens.append("".join(sb))
    return tokens
