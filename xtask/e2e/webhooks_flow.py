"""Browser end-to-end test of the dashboard's webhooks page and of the dashboard on a phone,
driven through chromedriver's W3C WebDriver HTTP API with the standard library only.

At desktop size (1280x900): subscribe a local receiver on /settings/webhooks, see the signing
secret once (and never again), send a test event and see the receiver's answer, switch the
webhook off. At phone size (390x844, emulated): every dashboard page fits the screen width
(no horizontal scrolling), the navigation's entries do not overlap, tables are cards, the
link editor's checkbox sits by its label; by keyboard, the first Tab reaches the visible skip
link, with a focus ring. Screenshots: webhooks-*.png and dashboard-phone*.png.

The demo must allow private webhook targets (WEBHOOKS_ALLOW_PRIVATE_TARGETS=true): the
receiver listens on 127.0.0.1.

usage: webhooks_flow.py BASE_URL CHROMEDRIVER_URL SCREENSHOT_DIR LOGIN PASSWORD
"""

import http.server
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from booking_flow import Browser, expect  # noqa: E402

TAB = "\ue004"


class Receiver(http.server.BaseHTTPRequestHandler):
    """Answers every POST 200 and keeps its headers."""

    seen = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        Receiver.seen.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def js(b, script, *args):
    return b.s("POST", "/execute/sync", {"script": script, "args": list(args)})


def size(b, width, height, mobile):
    """Emulates a screen of width x height CSS pixels (the viewport, not the window)."""
    b.s("POST", "/goog/cdp/execute", {"cmd": "Emulation.setDeviceMetricsOverride", "params": {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}})


PHONE = [False]


def fits(b, path):
    """The page at `path` needs no horizontal scrolling."""
    widths = js(b, "return [document.documentElement.scrollWidth, window.innerWidth]")
    expect(widths[0] <= widths[1], f"{path} overflows horizontally: scrollWidth {widths[0]} > {widths[1]}")
    # A mobile browser widens the layout viewport to fit content that is too wide, so an
    # overflowing page shows up as a viewport wider than the screen rather than as scrolling.
    if PHONE[0] and widths[1] != 390:
        wide = js(b, "const over = e => e.getBoundingClientRect().right > 390;"
                     " return Array.from(document.querySelectorAll('body *')).filter(e => over(e)"
                     " && !Array.from(e.children).some(over)).slice(0, 4).map(e => e.tagName + '.'"
                     " + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ': '"
                     " + e.textContent.trim().slice(0, 40))")
        expect(False, f"{path}: the phone viewport is {widths[1]} wide; too wide: {wide}")
    return widths


def nav_does_not_overlap(b):
    boxes = js(b, "return Array.from(document.querySelectorAll('header.hostbar nav a, header.hostbar .who,"
                  " header.hostbar form.logout button')).map(e => { const r = e.getBoundingClientRect();"
                  " return [e.textContent.trim(), r.left, r.top, r.right, r.bottom]; })")
    for i, a in enumerate(boxes):
        for c in boxes[i + 1:]:
            apart = a[3] <= c[1] or c[3] <= a[1] or a[4] <= c[2] or c[4] <= a[2]
            expect(apart, f"navigation entries overlap: {a} and {c}")


def main():
    base, driver, shots, login, password = sys.argv[1:6]
    os.makedirs(shots, exist_ok=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    target = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    b = Browser(driver)
    try:
        size(b, 1280, 900, False)
        b.go(f"{base}/login")
        b.type("#email", login)
        b.type("#password", password)
        b.click("form[action='/login'] button[type=submit]")
        b.wait_for("Your meetings", timeout=60.0)

        # Subscribe: the secret is shown once.
        b.go(f"{base}/settings/webhooks")
        b.wait_for("No webhooks yet", "Add a webhook")
        b.type("#url", "not a url")
        b.click("form.hook-form button[type=submit]")
        b.wait_for("Write the full address")
        kept = js(b, "return document.querySelector('#url').value")
        expect(kept == "not a url", f"the typed URL was not kept: {kept!r}")
        b.shot(shots, "webhooks-desktop-refused.png")
        js(b, "document.querySelector('#url').value = ''")
        b.type("#url", target)
        b.click("form.hook-form button[type=submit]")
        b.wait_for("copy it now")
        secret = js(b, "return document.querySelector('#new-secret').textContent")
        expect(secret.startswith("whsec_"), f"no secret shown: {secret!r}")
        b.shot(shots, "webhooks-desktop.png")
        b.go(f"{base}/settings/webhooks")
        page = b.wait_for(target)
        expect(secret not in page and "copy it now" not in page, "the secret is shown again")

        # Test event: the receiver gets it, the page says what it answered.
        b.click("table.hooks td a")
        b.wait_for("Delivery log", "Send test event")
        b.click("#send-test")
        page = b.wait_for("The test event was delivered")
        expect("HTTP 200" in page, page)
        expect(len(Receiver.seen) == 1, f"receiver got {len(Receiver.seen)} requests")
        headers = {k.lower(): v for k, v in Receiver.seen[0][0].items()}
        expect(":webhook:test:" in headers.get("webhook-id", ""), f"headers {headers}")
        expect(headers.get("webhook-signature", "").startswith("v1,"), f"headers {headers}")
        b.shot(shots, "webhooks-test.png")
        b.click("#switch")
        page = b.wait_for("switched off")
        expect("Switch on" in js(b, "return document.querySelector('#switch').textContent"), page)
        b.shot(shots, "webhooks-switched-off.png")
        hook_path = b.url().split(base, 1)[1].split("?", 1)[0]

        # The failed deliveries page (nothing failed in a fresh demo).
        b.go(f"{base}/settings/deliveries")
        b.wait_for("Failed deliveries")

        # The phone: nothing wider than the screen, a navigation that wraps, cards.
        size(b, 390, 844, True)
        PHONE[0] = True
        b.go(f"{base}/calendar")
        b.wait_for("Your meetings")
        b.click("table.meetings td a")
        b.wait_for("History")
        detail = b.url().split(base, 1)[1]
        pages = ["/calendar", detail, "/links", "/links/new", "/deals", "/settings/webhooks", hook_path,
                 "/settings/deliveries", "/settings/integrations", "/settings/api-keys"]
        for path in pages:
            b.go(f"{base}{path}")
            b.wait_for("Slotkeeper")
            widths = fits(b, path)
            nav_does_not_overlap(b)
        expect(widths[1] == 390, f"the phone viewport is {widths[1]} wide")
        b.go(f"{base}/calendar")
        b.wait_for("Your meetings")
        cards = js(b, "const r = document.querySelector('table.meetings tr:not(:first-child), table.meetings tbody tr');"
                      " return r ? getComputedStyle(r).display : 'none'")
        expect(cards == "block", f"meeting rows are not cards on a phone: {cards}")
        label = js(b, "const c = document.querySelector('table.meetings tbody td[data-label]');"
                      " return c ? getComputedStyle(c, '::before').content : ''")
        expect("When" in label, f"cells are not labelled: {label!r}")
        b.shot(shots, "dashboard-phone.png")
        b.go(f"{base}{detail}")
        b.wait_for("History")
        b.shot(shots, "dashboard-phone-booking.png")
        b.go(f"{base}/settings/webhooks")
        b.wait_for(target)
        b.shot(shots, "webhooks-phone.png")

        # The link editor: the CRM checkbox keeps its size, right by its label.
        b.go(f"{base}/links/new")
        b.wait_for("Open a CRM deal")
        box = js(b, "const c = document.querySelector('#create_deal').getBoundingClientRect();"
                    " const l = document.querySelector('#create_deal').parentElement.getBoundingClientRect();"
                    " return [c.width, c.left - l.left]")
        expect(box[0] < 40 and box[1] < 10, f"the CRM checkbox is {box[0]}px wide, {box[1]}px from its label")
        b.shot(shots, "dashboard-phone-link-editor.png")

        # Keyboard: the first Tab lands on the skip link, visible and ringed.
        b.go(f"{base}/calendar")
        b.wait_for("Your meetings")
        b.s("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": TAB}, {"type": "keyUp", "value": TAB}]}]})
        focus = js(b, "const e = document.activeElement; const r = e.getBoundingClientRect();"
                      " return [e.className, e.getAttribute('href'), r.left, getComputedStyle(e).outlineStyle]")
        expect(focus[0] == "skip" and focus[1] == "#main", f"first Tab reached {focus}")
        expect(focus[2] >= 0 and focus[3] != "none", f"the skip link is hidden or has no focus ring: {focus}")
        b.shot(shots, "dashboard-phone-skip-link.png")
    finally:
        b.quit()
        server.shutdown()
    print(f"e2e: webhook subscribed, secret shown once, test event delivered, switched off; "
          f"{len(pages)} dashboard pages fit 390px; screenshots in {shots}")


if __name__ == "__main__":
    main()
