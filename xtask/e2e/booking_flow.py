"""Browser end-to-end test of the public pages, driven through chromedriver's W3C WebDriver
HTTP API with the standard library only: book (month → day → time → form → confirmation) at
desktop and phone sizes, book and reschedule by keyboard alone, retry a time taken in another
tab, reschedule and cancel, keeping a screenshot of every step.

usage: booking_flow.py BASE_URL CHROMEDRIVER_URL SCREENSHOT_DIR
"""

import base64
import json
import os
import sys
import tempfile
import time
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class Browser:
    def __init__(self, driver):
        self.driver = driver.rstrip("/")
        profile = tempfile.mkdtemp(prefix="slotkeeper-e2e-")
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1100,1000", f"--user-data-dir={profile}"]
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
                "goog:chromeOptions": {"binary": os.environ.get("CHROMIUM", "/usr/bin/chromium"), "args": args}}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.driver + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as e:
            raise AssertionError(f"webdriver {method} {path}: {e.read().decode()}") from None

    def s(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def go(self, url):
        self.s("POST", "/url", {"url": url})

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, css):
        self.s("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text):
        self.s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def text(self):
        return self.s("POST", "/execute/sync", {"script": "return document.body.innerText", "args": []})

    def wait_for(self, *needles, timeout=15.0):
        """The page text once it contains every needle (a click's navigation may still be running)."""
        deadline = time.monotonic() + timeout
        while True:
            page = self.text()
            if all(n in page for n in needles):
                return page
            if time.monotonic() > deadline:
                raise AssertionError(f"page never showed {needles!r}:\n{page}")
            time.sleep(0.1)

    def url(self):
        return self.s("GET", "/url")

    def wait_url(self, needle, timeout=15.0):
        deadline = time.monotonic() + timeout
        while needle not in self.url():
            if time.monotonic() > deadline:
                raise AssertionError(f"the address never held {needle!r}: {self.url()}")
            time.sleep(0.1)

    def shot(self, directory, name):
        png = base64.b64decode(self.s("GET", "/screenshot"))
        with open(os.path.join(directory, name), "wb") as f:
            f.write(png)

    def size(self, width, height):
        self.s("POST", "/window/rect", {"width": width, "height": height})

    def keys(self, *names):
        """Presses keys on whatever has focus (no element is targeted: keyboard alone)."""
        codes = {"Tab": "\ue004", "Enter": "\ue007", "Space": "\ue00d", "Left": "\ue012",
                 "Up": "\ue013", "Right": "\ue014", "Down": "\ue015"}
        actions = []
        for name in names:
            for ch in codes.get(name, name):
                actions += [{"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch}]
        self.s("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})

    def focused(self):
        return self.s("POST", "/execute/sync", {"script":
            "var e = document.activeElement; return [e.tagName, e.name || e.id || '', e.value || e.textContent];",
            "args": []})

    def tab_to(self, test, limit=200):
        """Tabs until the focused element passes `test` (tag, name, value)."""
        for _ in range(limit):
            self.keys("Tab")
            f = self.focused()
            if test(*f):
                return f
        raise AssertionError("tabbing never reached the wanted control")

    def new_tab(self):
        handle = self.s("POST", "/window/new", {"type": "tab"})["handle"]
        old = self.s("GET", "/window")
        self.s("POST", "/window", {"handle": handle})
        return old, handle

    def switch(self, handle):
        self.s("POST", "/window", {"handle": handle})

    def quit(self):
        self.s("DELETE", "")


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def book_by_mouse(b, base, shots, size):
    """Month → day → time → form → confirmation with clicks, screenshots named by size."""
    b.go(f"{base}/book/intro?tz=Europe/Berlin&clock=24&utm_source=e2e")
    b.wait_for("Intro call", "Time zone")
    b.shot(shots, f"booking-month-{size}.png")
    days = b.s("POST", "/elements", {"using": "css selector", "value": "table[role=grid] td button"})
    expect(len(days) > 2, "too few open days in the month")
    b.s("POST", f"/element/{days[2][ELEMENT]}/click", {})
    b.wait_url("day=")
    b.wait_for("Intro call")
    b.shot(shots, f"booking-day-{size}.png")
    b.click(".slots button")
    b.wait_for("Your name")
    b.shot(shots, f"booking-form-{size}.png")
    b.type("#name", f"Erin {size}")
    b.type("#email", "erin@localhost")
    b.click("form[method=post] button[type=submit]")
    b.wait_for("Please correct the fields")
    b.shot(shots, f"booking-form-error-{size}.png")
    expect(b.s("POST", "/execute/sync", {"script": "return document.getElementById('name').value", "args": []}) == f"Erin {size}",
           "the typed name was lost on the validation error")
    b.s("POST", f"/element/{b.find('#email')}/clear", {})
    b.type("#email", "erin@example.org")
    b.type("#q0", "Pricing & plans <b>")
    b.click("form[method=post] button[type=submit]")
    b.wait_for("You are booked")
    b.shot(shots, f"booking-confirmed-{size}.png")


def book_by_keyboard(b, base, shots):
    """The same booking with Tab, arrow keys and Enter only."""
    b.go(f"{base}/book/intro?tz=Europe/Berlin&clock=12")
    b.wait_for("Intro call")
    b.tab_to(lambda tag, name, value: tag == "BUTTON" and name == "day")
    first = b.focused()[2]
    b.keys("Right")
    moved = b.focused()
    expect(moved[1] == "day" and moved[2] != first, f"the arrow key did not move in the grid: {moved}")
    b.keys("Enter")
    b.wait_url("day=")
    b.wait_for("AM")
    b.tab_to(lambda tag, name, value: tag == "BUTTON" and name == "start")
    b.keys("Down")
    b.shot(shots, "booking-keyboard-time.png")
    b.keys("Enter")
    b.wait_for("Your name")
    b.tab_to(lambda tag, name, value: name == "name")
    b.keys("Kim Keys")
    b.keys("Tab", "kim@example.org")
    b.tab_to(lambda tag, name, value: name == "q0")
    b.keys("Keyboard only")
    b.tab_to(lambda tag, name, value: tag == "BUTTON")
    b.keys("Enter")
    b.wait_for("You are booked")
    b.shot(shots, "booking-keyboard-confirmed.png")


def reschedule_by_keyboard(b, shots):
    """From a confirmation page: open the reschedule page, move to another day and time, give a
    reason and submit, keys only."""
    b.click("#reschedule")
    b.wait_for("Moving the booking of")
    b.shot(shots, "reschedule-desktop.png")
    b.tab_to(lambda tag, name, value: name == "day")
    b.keys("Right", "Enter")
    b.wait_url("day=")
    b.wait_for("Reschedule to the selected time")
    b.tab_to(lambda tag, name, value: name == "start")
    b.keys("Space")
    b.tab_to(lambda tag, name, value: name == "reason")
    b.keys("Train is late")
    b.shot(shots, "reschedule-keyboard.png")
    b.tab_to(lambda tag, name, value: tag == "BUTTON")
    b.keys("Enter")
    b.wait_for("Your booking was moved")
    b.shot(shots, "reschedule-done.png")


def taken_retry(b, base, shots):
    """Two tabs pick the same time; the second keeps what was typed and offers other times."""
    b.go(f"{base}/book/intro?tz=Europe/Berlin&clock=24")
    b.wait_for("Intro call")
    b.click(".slots button")
    b.wait_for("Your name")
    form_url = b.url()
    b.type("#name", "Second Tab")
    b.type("#email", "second@example.org")
    b.type("#q0", "Kept answer")
    first, other = b.new_tab()
    b.go(form_url)
    b.wait_for("Your name")
    b.type("#name", "First Tab")
    b.type("#email", "first@example.org")
    b.click("form[method=post] button[type=submit]")
    b.wait_for("You are booked")
    b.s("DELETE", "/window")
    b.switch(first)
    b.click("form[method=post] button[type=submit]")
    b.wait_for("that time was just taken")
    value = lambda css: b.s("POST", "/execute/sync", {"script": f"return document.querySelector('{css}').value", "args": []})
    expect(value("#name") == "Second Tab" and value("#email") == "second@example.org", "typed input lost")
    expect(value("#q0") == "Kept answer", "the answer was lost")
    b.shot(shots, "booking-taken-retry.png")
    b.click("fieldset.retry label.slot input")
    b.click("form[method=post] button[type=submit]")
    b.wait_for("You are booked")


def main():
    base, driver, shots = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(shots, exist_ok=True)
    b = Browser(driver)
    try:
        # The picker detects the browser's zone and reloads with it (tz.js).
        b.go(f"{base}/book/intro")
        deadline = time.monotonic() + 15
        while "tz=" not in b.url() and time.monotonic() < deadline:
            time.sleep(0.1)
        expect("tz=" in b.url(), f"the zone was not detected: {b.url()}")

        b.size(1280, 900)
        book_by_mouse(b, base, shots, "desktop")
        b.size(390, 844)
        book_by_mouse(b, base, shots, "phone")
        b.size(1280, 900)
        book_by_keyboard(b, base, shots)
        reschedule_by_keyboard(b, shots)
        taken_retry(b, base, shots)

        # Reschedule with the mouse at phone size, then cancel; the old link is dead.
        b.size(390, 844)
        b.click("#reschedule")
        b.wait_for("Moving the booking of")
        old_reschedule = b.url()
        b.shot(shots, "reschedule-phone.png")
        b.click(".slots label.slot input")
        b.type("#reason", "Something came up")
        b.click(".send button")
        b.wait_for("Your booking was moved")
        b.click("#cancel")
        b.wait_for("Cancel Intro call?")
        b.type("#reason", "Plans changed")
        b.click("button.danger")
        b.wait_for("This booking is cancelled", "Plans changed")
        b.shot(shots, "cancelled.png")
        b.go(old_reschedule)
        b.wait_for("Booking already rescheduled")
        b.shot(shots, "old-link.png")
    finally:
        b.quit()
    print(f"e2e: booked by mouse (desktop, phone) and keyboard, rescheduled by keyboard, "
          f"retried a taken time, cancelled in Chromium; screenshots in {shots}")


if __name__ == "__main__":
    main()
