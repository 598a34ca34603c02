# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Plain-Python client of the bankbridge XML-RPC API.

This module is the only place of the addon that talks to the bridge. It
imports nothing from Odoo so it can be tested against a live bridge outside
Odoo (see ``tests/python/test_addon_bridge_client.py`` in the repository).

Every failure is raised as a subclass of :class:`BridgeError` whose message
is meant to be shown to the user as is:

* :class:`BridgeUserError`: fault 2 (UserError on the bridge); the bridge's
  message is passed through intact. :class:`BridgeMissingError`, one of
  them: the record is gone (Odoo's MissingError, also fault 2).
* :class:`BridgeAuthError`: fault 3, or ``authenticate`` answered False.
* :class:`BridgeAccessError`: fault 4.
* :class:`BridgeServerError`: fault 1 or any other fault code.
* :class:`BridgeUnavailable`: connection refused, DNS failure, timeout,
  TLS failure or a 502/503/504 from a proxy; the message names the URL.
* :class:`BridgeProtocolError`: the URL answered, but not XML-RPC.
* :class:`BridgeConfigError`: the settings are incomplete or malformed.

The API key is never logged nor put in an exception message.
"""

import hashlib
import http.client
import logging
import socket
import ssl
import xml.parsers.expat
import xmlrpc.client
from urllib.parse import urlsplit, urlunsplit

_logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_DATABASE = "bankbridge"

FAULT_APPLICATION = 1
FAULT_USER_ERROR = 2
FAULT_ACCESS_DENIED = 3
FAULT_ACCESS_ERROR = 4

INSTITUTION_MODEL = "account.online.institution"
LINK_MODEL = "account.online.link"
ACCOUNT_MODEL = "account.online.account"
TRANSACTION_MODEL = "account.online.transaction"

INSTITUTION_FIELDS = [
    "code",
    "name",
    "country_code",
    "status",
    "mode",
    "max_consent_days",
    "logo_url",
]
# Read when the bridge has them (a bridge reaching banks through several
# aggregators names the one of each bank).
OPTIONAL_INSTITUTION_FIELDS = ["provider"]
LINK_FIELDS = [
    "name",
    "institution_id",
    "provider_code",
    "state",
    "auto_sync",
    "last_refresh",
    "next_refresh",
    "expiring_synchronization_date",
    "account_online_account_ids",
    "error_message",
    "has_unlinked_accounts",
    "renewal_contact_email",
    "company_id",
    "connection_identifier",
]
ACCOUNT_FIELDS = [
    "name",
    "account_number",
    "balance",
    "currency_code",
    "online_identifier",
    "account_online_link_id",
    "journal_id",
    "last_sync",
    "fetching_status",
    "inverse_transaction_sign",
]
TRANSACTION_FIELDS = [
    "online_transaction_identifier",
    "date",
    "amount",
    "currency_code",
    "payment_ref",
    "partner_name",
    "account_number",
    "status",
    "online_account_id",
]

# Buttons of account.online.link on the bridge, each called with [[link_id]].
LINK_BUTTONS = (
    "action_update_credentials",
    "action_fetch_accounts",
    "action_fetch_transactions",
    "action_revoke_consent",
    "action_remove_connection",
)

# uid per (url, db, login, sha256(api key)): lets a button make a single
# XML-RPC call once a worker has authenticated.
_UID_CACHE = {}


class BridgeError(Exception):
    """Base class of every error raised by this module."""

    fault_code = None

    def __init__(self, message, fault_code=None, fault_string=None):
        super().__init__(message)
        self.message = message
        if fault_code is not None:
            self.fault_code = fault_code
        self.fault_string = fault_string

    def __str__(self):
        return self.message


class BridgeConfigError(BridgeError):
    """The connection settings are missing or malformed."""


class BridgeUnavailable(BridgeError):
    """The bridge could not be reached (down, timeout, DNS, TLS, proxy)."""


class BridgeProtocolError(BridgeError):
    """The URL answered, but not as an XML-RPC bridge."""


class BridgeUserError(BridgeError):
    """Fault 2: a message for the user, passed through intact."""

    fault_code = FAULT_USER_ERROR


class BridgeMissingError(BridgeUserError):
    """Fault 2 with Odoo's MissingError message: the record does not exist
    (any more) on the bridge. XML-RPC gives MissingError no code of its own,
    so its message tells it apart."""


# Odoo's MissingError message, as the bridge words it too.
MISSING_RECORD_MESSAGE = "Record does not exist or has been deleted."


class BridgeAuthError(BridgeError):
    """Fault 3, or the bridge refused the login and API key."""

    fault_code = FAULT_ACCESS_DENIED


class BridgeAccessError(BridgeError):
    """Fault 4: the bridge user may not do this."""

    fault_code = FAULT_ACCESS_ERROR


class BridgeServerError(BridgeError):
    """Fault 1 (application error) or an unknown fault code."""

    fault_code = FAULT_APPLICATION


def public_url(url):
    """Return ``url`` without user info, safe to show in a message."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return "<invalid URL>"
    netloc = parts.hostname or ""
    if parts.hostname and ":" in parts.hostname:
        netloc = "[%s]" % parts.hostname
    try:
        port = parts.port
    except ValueError:
        port = None
    if port:
        netloc = "%s:%s" % (netloc, port)
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def normalize_url(url):
    """Validate the bridge base URL and strip what follows the base path."""
    url = (url or "").strip()
    if not url:
        raise BridgeConfigError(
            "The bank bridge URL is not set. Set it in Invoicing settings "
            "(for example http://127.0.0.1:8070)."
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BridgeConfigError(
            "The bank bridge URL %r is not valid: it must start with "
            "http:// or https:// and name a host." % public_url(url)
        )
    path = parts.path.rstrip("/")
    for suffix in ("/xmlrpc/2/common", "/xmlrpc/2/object", "/xmlrpc/2"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class _TimeoutMixin:
    """Gives an xmlrpc.client transport connections that time out."""

    def __init__(self, timeout, **kwargs):
        super().__init__(**kwargs)
        self._timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class _TimeoutTransport(_TimeoutMixin, xmlrpc.client.Transport):
    """HTTP transport whose connections time out."""


class _TimeoutSafeTransport(_TimeoutMixin, xmlrpc.client.SafeTransport):
    """HTTPS transport whose connections time out."""


def is_act_url(result):
    return isinstance(result, dict) and result.get("type") == "ir.actions.act_url"


def is_notification(result):
    return (
        isinstance(result, dict)
        and result.get("type") == "ir.actions.client"
        and result.get("tag") == "display_notification"
    )


class BridgeClient:
    """One bridge endpoint with one set of credentials.

    :param url: base URL of the bridge, e.g. ``http://127.0.0.1:8070``
    :param db: database name given to the bridge (``bankbridge``)
    :param login: bridge user login
    :param api_key: bridge API key (or password)
    :param timeout: seconds before a call is given up
    :param uid_cache: mapping used to remember the uid between clients;
        ``None`` uses the module-wide cache, ``False`` disables caching
    """

    def __init__(
        self,
        url,
        db=DEFAULT_DATABASE,
        login=None,
        api_key=None,
        timeout=DEFAULT_TIMEOUT,
        uid_cache=None,
    ):
        self.url = normalize_url(url)
        self.db = (db or "").strip() or DEFAULT_DATABASE
        self.login = (login or "").strip()
        self._api_key = api_key or ""
        try:
            self.timeout = float(timeout or DEFAULT_TIMEOUT)
        except (TypeError, ValueError):
            self.timeout = DEFAULT_TIMEOUT
        if self.timeout <= 0:
            self.timeout = DEFAULT_TIMEOUT
        self._uid_cache = _UID_CACHE if uid_cache is None else uid_cache
        self.uid = None
        self._proxies = {}
        self._institution_fields = None
        self._provider_names = {}

    def __repr__(self):
        # Never show the API key.
        return "<BridgeClient %s db=%s login=%s>" % (
            public_url(self.url),
            self.db,
            self.login,
        )

    # ------------------------------------------------------------------
    # Transport
    # ------------------------------------------------------------------
    @property
    def public_url(self):
        return public_url(self.url)

    def _cache_key(self):
        digest = hashlib.sha256(self._api_key.encode("utf-8")).hexdigest()
        return (self.url, self.db, self.login, digest)

    def _proxy(self, service):
        proxy = self._proxies.get(service)
        if proxy is None:
            if self.url.startswith("https:"):
                transport = _TimeoutSafeTransport(self.timeout)
            else:
                transport = _TimeoutTransport(self.timeout)
            proxy = xmlrpc.client.ServerProxy(
                "%s/xmlrpc/2/%s" % (self.url, service),
                transport=transport,
                allow_none=False,
            )
            self._proxies[service] = proxy
        return proxy

    def _scrub(self, text):
        text = "" if text is None else str(text)
        if self._api_key and self._api_key in text:
            text = text.replace(self._api_key, "********")
        return text

    def _error_from_fault(self, fault):
        code = fault.faultCode
        string = fault.faultString
        if isinstance(code, str):
            # Legacy /xmlrpc endpoint string codes, for robustness.
            legacy = code
            if legacy.startswith("warning -- "):
                head, _sep, body = legacy.partition("\n\n")
                string = body or string
                code = (
                    FAULT_ACCESS_ERROR
                    if head.endswith("AccessError")
                    else FAULT_USER_ERROR
                )
            elif legacy == "AccessDenied":
                code = FAULT_ACCESS_DENIED
            else:
                code = FAULT_APPLICATION
                string = string or legacy
        string = self._scrub(string)
        if code == FAULT_USER_ERROR:
            if string.startswith(MISSING_RECORD_MESSAGE):
                return BridgeMissingError(string, code, string)
            return BridgeUserError(string, code, string)
        if code == FAULT_ACCESS_DENIED:
            return BridgeAuthError(
                "The bank bridge at %s denied access (%s): check the login %r "
                "and the API key in Invoicing settings."
                % (self.public_url, string or "Access Denied", self.login),
                code,
                string,
            )
        if code == FAULT_ACCESS_ERROR:
            return BridgeAccessError(string, code, string)
        text = string.strip() or "unknown error"
        if len(text) > 2000:
            text = text[:2000] + "..."
        return BridgeServerError(
            "The bank bridge at %s reported an error: %s" % (self.public_url, text),
            code,
            string,
        )

    def _call(self, service, method, *params):
        proxy = self._proxy(service)
        where = self.public_url
        try:
            return getattr(proxy, method)(*params)
        except xmlrpc.client.Fault as fault:
            raise self._error_from_fault(fault) from None
        except xmlrpc.client.ProtocolError as err:
            if err.errcode in (502, 503, 504):
                raise BridgeUnavailable(
                    "The bank bridge at %s is not available right now "
                    "(HTTP %s %s). Please try again later."
                    % (where, err.errcode, err.errmsg)
                ) from None
            raise BridgeProtocolError(
                "The bank bridge URL %s answered HTTP %s %s to an XML-RPC "
                "call on /xmlrpc/2/%s: check the bridge URL in Invoicing "
                "settings." % (where, err.errcode, err.errmsg, service)
            ) from None
        except TimeoutError:
            raise BridgeUnavailable(
                "The bank bridge at %s did not answer within %g seconds. "
                "Please try again later." % (where, self.timeout)
            ) from None
        except ConnectionRefusedError:
            raise BridgeUnavailable(
                "The bank bridge at %s refused the connection: is bankbridge "
                "running, and is the URL in Invoicing settings right?" % where
            ) from None
        except ssl.SSLError as err:
            raise BridgeUnavailable(
                "The TLS connection to the bank bridge at %s failed: %s"
                % (where, self._scrub(err))
            ) from None
        except socket.gaierror as err:
            raise BridgeUnavailable(
                "The bank bridge host of %s could not be resolved (%s)."
                % (where, self._scrub(err))
            ) from None
        except OSError as err:
            raise BridgeUnavailable(
                "The bank bridge at %s could not be reached (%s)."
                % (where, self._scrub(err) or err.__class__.__name__)
            ) from None
        except (
            http.client.HTTPException,
            xmlrpc.client.ResponseError,
            xml.parsers.expat.ExpatError,
        ) as err:
            raise BridgeProtocolError(
                "The bank bridge URL %s did not answer with XML-RPC (%s): "
                "check the bridge URL in Invoicing settings."
                % (where, self._scrub(err) or err.__class__.__name__)
            ) from None

    # ------------------------------------------------------------------
    # common service
    # ------------------------------------------------------------------
    def version(self):
        """``common.version()``: a dict with ``server_version`` etc."""
        result = self._call("common", "version")
        if not isinstance(result, dict):
            raise BridgeProtocolError(
                "The bank bridge at %s answered version() with %r instead of "
                "a struct." % (self.public_url, type(result).__name__)
            )
        return result

    def authenticate(self, use_cache=True):
        """``common.authenticate``; returns the uid or raises BridgeAuthError."""
        if not self.login or not self._api_key:
            raise BridgeConfigError(
                "The bank bridge login and API key must both be set in "
                "Invoicing settings."
            )
        key = self._cache_key()
        if use_cache and self._uid_cache is not False:
            uid = self._uid_cache.get(key)
            if uid:
                self.uid = uid
                return uid
        uid = self._call("common", "authenticate", self.db, self.login, self._api_key, {})
        if isinstance(uid, bool) or not isinstance(uid, int) or uid <= 0:
            if self._uid_cache is not False:
                self._uid_cache.pop(key, None)
            raise BridgeAuthError(
                "The bank bridge at %s refused login %r on database %r: check "
                "the login and the API key in Invoicing settings."
                % (self.public_url, self.login, self.db)
            )
        self.uid = uid
        if self._uid_cache is not False:
            self._uid_cache[key] = uid
        return uid

    def test_connection(self):
        """Check the URL and the credentials.

        Returns ``{'server_version': str, 'uid': int, 'url': str, 'db': str}``.
        """
        version = self.version()
        uid = self.authenticate(use_cache=False)
        return {
            "server_version": str(version.get("server_version") or "?"),
            "protocol_version": version.get("protocol_version"),
            "uid": uid,
            "url": self.public_url,
            "db": self.db,
        }

    # ------------------------------------------------------------------
    # object service
    # ------------------------------------------------------------------
    def execute_kw(self, model, method, args, kwargs=None):
        """``object.execute_kw`` with authentication done on demand."""
        cached = self.uid is None and self._uid_cache is not False and bool(
            self._uid_cache.get(self._cache_key())
        )
        uid = self.uid or self.authenticate()
        params = (self.db, uid, self._api_key, model, method, list(args), kwargs or {})
        try:
            return self._call("object", "execute_kw", *params)
        except BridgeAuthError:
            if not cached:
                raise
            # The cached uid may be stale (user re-created): log in once more.
            self.uid = None
            if self._uid_cache is not False:
                self._uid_cache.pop(self._cache_key(), None)
            uid = self.authenticate(use_cache=False)
            params = (self.db, uid) + params[2:]
            return self._call("object", "execute_kw", *params)

    # Institutions ------------------------------------------------------
    def institution_fields(self):
        """The institution fields to read: :data:`INSTITUTION_FIELDS`, plus
        those of :data:`OPTIONAL_INSTITUTION_FIELDS` the bridge has."""
        if self._institution_fields is None:
            known = self.execute_kw(
                INSTITUTION_MODEL, "fields_get", [], {"attributes": ["type", "selection"]}
            )
            self._institution_fields = INSTITUTION_FIELDS + [
                name for name in OPTIONAL_INSTITUTION_FIELDS if name in known
            ]
            self._provider_names = dict(
                (known.get("provider") or {}).get("selection") or []
            )
        return list(self._institution_fields)

    def provider_name(self, code):
        """The aggregator's name as the bridge gives it (``enablebanking`` ->
        ``Enable Banking``); False without a code."""
        if not code:
            return False
        self.institution_fields()
        return self._provider_names.get(code, code)

    def search_institutions(self, country_code=None, name=None, limit=80, offset=0):
        """Institutions of a country, optionally whose name contains ``name``."""
        domain = []
        if country_code:
            domain.append(("country_code", "=", country_code.strip().upper()))
        if name and name.strip():
            domain.append(("name", "ilike", name.strip()))
        kwargs = {"fields": self.institution_fields(), "order": "name", "offset": int(offset or 0)}
        if limit:
            kwargs["limit"] = int(limit)
        return self.execute_kw(INSTITUTION_MODEL, "search_read", [domain], kwargs)

    def count_institutions(self, country_code=None, name=None):
        domain = []
        if country_code:
            domain.append(("country_code", "=", country_code.strip().upper()))
        if name and name.strip():
            domain.append(("name", "ilike", name.strip()))
        return self.execute_kw(INSTITUTION_MODEL, "search_count", [domain])

    # Links ---------------------------------------------------------------
    def new_synchronization(self, institution_code, email, phone=None, return_to=None, link_id=None):
        """Start a connection; returns the act_url dict (url, res_id).

        ``return_to``: the URL the bridge sends the browser back to once the
        bank's consent page is done. ``link_id``: a bridge link whose consent
        was never completed, reused instead of creating another one."""
        kwargs = {"institution_code": institution_code, "email": email}
        if phone:
            kwargs["phone"] = phone
        if return_to:
            kwargs["return_to"] = return_to
        link_ids = [int(link_id)] if link_id else []
        result = self.execute_kw(LINK_MODEL, "action_new_synchronization", [link_ids], kwargs)
        if not is_act_url(result) or not result.get("url"):
            raise BridgeProtocolError(
                "The bank bridge at %s answered action_new_synchronization "
                "without a URL to open." % self.public_url
            )
        return result

    def link_button(self, method, link_id, return_to=None):
        """Call one of :data:`LINK_BUTTONS` on one bridge link. ``return_to``
        (Update Credentials): where the bank's page sends the browser back."""
        if method not in LINK_BUTTONS:
            raise ValueError("Unknown bridge link button %r" % method)
        kwargs = {"return_to": return_to} if return_to else {}
        return self.execute_kw(LINK_MODEL, method, [[int(link_id)]], kwargs)

    def update_credentials(self, link_id, return_to=None):
        return self.link_button("action_update_credentials", link_id, return_to=return_to)

    def fetch_accounts(self, link_id):
        return self.link_button("action_fetch_accounts", link_id)

    def fetch_transactions(self, link_id):
        return self.link_button("action_fetch_transactions", link_id)

    def revoke_consent(self, link_id):
        return self.link_button("action_revoke_consent", link_id)

    def remove_connection(self, link_id):
        return self.link_button("action_remove_connection", link_id)

    def unlink_link(self, link_id):
        """Delete a link on the bridge (fault 2 while its connection exists).
        A link the bridge no longer has is already deleted: True."""
        try:
            return self.execute_kw(LINK_MODEL, "unlink", [[int(link_id)]])
        except BridgeMissingError:
            return True

    def read_link(self, link_id):
        """The link's fields, or None when the bridge no longer has it."""
        # search_read, not read: the bridge answers read of a deleted id with a fault.
        records = self.execute_kw(
            LINK_MODEL, "search_read", [[("id", "=", int(link_id))]], {"fields": LINK_FIELDS}
        )
        return records[0] if records else None

    def search_links(self, domain=None):
        return self.execute_kw(
            LINK_MODEL,
            "search_read",
            [list(domain or [])],
            {"fields": LINK_FIELDS, "order": "id"},
        )

    # Accounts ------------------------------------------------------------
    def read_accounts(self, link_id):
        return self.execute_kw(
            ACCOUNT_MODEL,
            "search_read",
            [[("account_online_link_id", "=", int(link_id))]],
            {"fields": ACCOUNT_FIELDS, "order": "id"},
        )

    def read_account(self, account_id):
        """The account's fields, or None when the bridge no longer has it."""
        try:
            records = self.execute_kw(
                ACCOUNT_MODEL, "read", [[int(account_id)]], {"fields": ACCOUNT_FIELDS}
            )
        except BridgeMissingError:
            return None
        return records[0] if records else None

    def write_account(self, account_id, vals):
        return self.execute_kw(ACCOUNT_MODEL, "write", [[int(account_id)], dict(vals)])

    def set_account_journal(self, account_id, journal_id):
        """Tell the bridge which Odoo journal an account feeds (False: none)."""
        return self.write_account(account_id, {"journal_id": int(journal_id) if journal_id else False})

    # Transactions --------------------------------------------------------
    def fetch_posted_transactions(self, account_id, after_id=0, limit=500):
        """Posted transactions of an account whose bridge id is > after_id,
        oldest first. Pending transactions are never returned."""
        domain = [
            ("online_account_id", "=", int(account_id)),
            ("status", "=", "posted"),
        ]
        if after_id:
            domain.append(("id", ">", int(after_id)))
        kwargs = {"fields": TRANSACTION_FIELDS, "order": "id"}
        if limit:
            kwargs["limit"] = int(limit)
        return self.execute_kw(TRANSACTION_MODEL, "search_read", [domain], kwargs)

    def count_transactions(self, account_id, status=None, after_id=0):
        domain = [("online_account_id", "=", int(account_id))]
        if status:
            domain.append(("status", "=", status))
        if after_id:
            domain.append(("id", ">", int(after_id)))
        return self.execute_kw(TRANSACTION_MODEL, "search_count", [domain])


def many2one_id(value):
    """``[id, name]`` -> id; False/None -> False; int -> int."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else False
    if isinstance(value, bool) or value is None:
        return False
    return value


def many2one_name(value):
    if isinstance(value, (list, tuple)) and len(value) > 1:
        return value[1]
    return False


def false_to_none(value):
    return None if value is False else value
