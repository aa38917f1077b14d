"""Logs in to a running Slotkeeper as a host and creates an API key through the host's own
pages (login form, then /settings/api-keys), printing the key's secret (sk_...) on stdout.
Standard library only; used by `cargo xtask schemathesis` to test the host API with a real key.

usage: api_key.py BASE_URL LOGIN PASSWORD
"""

import html
import http.cookiejar
import re
import sys
import urllib.parse
import urllib.request


def csrf_of(page):
    """The hidden `csrf` field of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]*)"', page)
    if not found:
        sys.exit(f"no CSRF field on the page:\n{page[:2000]}")
    return html.unescape(found.group(1))


def main():
    base, login, password = sys.argv[1:4]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    # Forms are posted from the site itself, as a browser would.
    opener.addheaders = [("Origin", base)]

    def post(path, fields):
        data = urllib.parse.urlencode(fields).encode()
        with opener.open(f"{base}{path}", data=data, timeout=30) as resp:
            return resp.read().decode()

    with opener.open(f"{base}/login", timeout=30) as resp:
        token = csrf_of(resp.read().decode())
    # The login redirects to /calendar, whose forms carry the session's token.
    page = post("/login", {"csrf": token, "email": login, "password": password})
    page = post("/settings/api-keys", {"csrf": csrf_of(page), "label": "schemathesis"})
    key = re.search(r'id="new-key">(sk_[^<]+)<', page)
    if not key:
        sys.exit(f"no new key on the API keys page:\n{page[:2000]}")
    print(key.group(1))


if __name__ == "__main__":
    main()
