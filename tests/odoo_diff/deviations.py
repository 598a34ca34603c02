"""The deliberate deviations from Odoo 17, in one place (README "How it behaves like Odoo 17" lists them too).
A corpus case tagged with one of these keys is not compared with Odoo; the bridge's answer must be the one
stated here instead.
"""

DEVIATIONS = {
    "managed-field": (
        "Fields the bridge manages itself (a link's state, error message, refresh times, Salt Edge identifiers; "
        "an account's balance, fetching status and online identifier; a transaction's raw data) are refused on "
        "client writes with a clear fault 2: they come from Salt Edge, and a client value would be overwritten "
        "or would break the next synchronization. Odoo accepts them (its `readonly` is only a view attribute).",
        lambda outcome: outcome[0] == "fault" and outcome[1] == 2,
    ),
    "institutions-read-only": (
        "Institutions are read-only for clients (fault 4, access error): they are Salt Edge's provider list, "
        "refreshed by the bridge.",
        lambda outcome: outcome[0] == "fault" and outcome[1] == 4,
    ),
}

# How answers are compared (differential.py), beyond equality modulo ids:
COMPARISON_RULES = [
    "Ids are compared as labels (`model#n` for seeded records in creation order, `<case>:n` for records a "
    "corpus call created, `model@n` for records first seen in an answer).",
    "create_date and write_date are set by each server at its own time: compared as set or not set.",
    "Floats are equal to 1e-9.",
    "When Odoo's fault 1 comes from PostgreSQL refusing a value Odoo passed through unchecked (psycopg2's "
    "`invalid input syntax for type date`, `operator does not exist: text ~~ integer`), only the fault code is "
    "compared: that text is PostgreSQL's, not Odoo's API.",
]
