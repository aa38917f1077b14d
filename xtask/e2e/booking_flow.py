"""Browser end-to-end test of the public pages, driven through chromedriver's W3C WebDriver
HTTP API with the standard library only: book, reschedule and cancel as an attendee would,
keeping a screenshot of every step.

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

    def shot(self, directory, name):
        png = base64.b64decode(self.s("GET", "/screenshot"))
        with open(os.path.join(directory, name), "wb") as f:
            f.write(png)

    def quit(self):
        self.s("DELETE", "")


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


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
        b.go(f"{base}/book/intro?tz=Europe/Berlin&utm_source=e2e")
        b.wait_for("Intro call", "Times shown in")
        b.shot(shots, "01-slot-picker.png")

        b.click("a.slot")
        b.wait_for("Your name")
        b.type("#name", "Erin End-to-End")
        b.type("#email", "erin@localhost")
        b.click("button[type=submit]")
        b.wait_for("Please correct the fields")
        b.shot(shots, "02-form-error.png")
        b.s("POST", f"/element/{b.find('#email')}/clear", {})
        b.type("#email", "erin@example.org")
        b.type("#q0", "Pricing & plans <b>")
        b.shot(shots, "03-form.png")
        b.click("button[type=submit]")
        b.wait_for("You are booked")
        b.shot(shots, "04-confirmed.png")

        b.click("#reschedule")
        b.wait_for("You are moving the booking of", "Erin End-to-End")
        old_reschedule = b.url()
        b.shot(shots, "05-reschedule.png")
        radios = b.s("POST", "/elements", {"using": "css selector", "value": "label.slot input"})
        expect(len(radios) > 3, "too few slots offered for the reschedule")
        b.s("POST", f"/element/{radios[3][ELEMENT]}/click", {})
        b.type("#reason", "Something came up")
        b.click("form[method=post] button[type=submit]")
        b.wait_for("Your booking was moved")
        b.shot(shots, "06-rescheduled.png")

        b.click("#cancel")
        b.wait_for("Cancel Intro call?")
        b.type("#reason", "Plans changed")
        b.click("button.danger")
        b.wait_for("This booking is cancelled", "Plans changed")
        b.shot(shots, "07-cancelled.png")

        b.go(old_reschedule)
        b.wait_for("Booking already rescheduled")
        b.shot(shots, "08-old-link.png")
    finally:
        b.quit()
    print(f"e2e: booked, rescheduled and cancelled in Chromium; screenshots in {shots}")


if __name__ == "__main__":
    main()
