"""Browser end-to-end test of the host's side, driven through chromedriver's W3C WebDriver
HTTP API with the standard library only: log in as the demo host, see the dashboard tabs,
cancel the upcoming sample booking with a reason, mark the seeded past meeting as a no-show,
check the counts, and log out, keeping a screenshot of every step.

The demo seeds one meeting that already took place (yesterday) straight through the store,
because the use cases only book future slots; see `seed_demo_past_meeting` in
crates/app/src/host_cmd.rs.

usage: host_flow.py BASE_URL CHROMEDRIVER_URL SCREENSHOT_DIR LOGIN PASSWORD
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from booking_flow import Browser, expect  # noqa: E402


def counts(b):
    """The dashboard's tab counts, e.g. {"upcoming": 1, "past": 1, ...}."""
    pairs = b.s("POST", "/execute/sync", {"script": (
        "return Array.from(document.querySelectorAll('nav.tabs a')).map("
        "a => [a.id.replace('tab-', ''), a.querySelector('.count').textContent])"), "args": []})
    return {k: int(v) for k, v in pairs}


def main():
    base, driver, shots, login, password = sys.argv[1:6]
    os.makedirs(shots, exist_ok=True)
    b = Browser(driver)
    try:
        # Logged out, the dashboard sends the host to the login page.
        b.go(f"{base}/calendar")
        expect("/login" in b.url(), f"not sent to the login page: {b.url()}")
        expect("Host login" in b.text(), b.text())
        b.type("#email", login)
        b.type("#password", "not-the-password")
        b.click("form[action='/login'] button[type=submit]")
        b.wait_for("Email or password is wrong.")
        b.shot(shots, "host-01-login-refused.png")
        b.type("#password", password)
        b.click("form[action='/login'] button[type=submit]")
        page = b.wait_for("Your meetings", timeout=60.0)
        expect(b.url().endswith("/calendar"), b.url())
        start = counts(b)
        expect(start == {"upcoming": 1, "past": 1, "no_shows": 0, "cancelled": 0}, f"counts {start}")
        expect("Sam Sample" in page, page)
        b.shot(shots, "host-02-calendar.png")

        # Cancel the upcoming sample booking with a reason.
        b.click("table.meetings td a")
        page = b.wait_for("Sam Sample", "History")
        b.shot(shots, "host-03-booking.png")
        b.type("#reason", "Host is travelling")
        b.click("#cancel-form button.danger")
        b.wait_for("Cancelled by the host", "Host is travelling")
        b.shot(shots, "host-04-cancelled.png")

        # Mark yesterday's meeting as a no-show.
        b.go(f"{base}/calendar?tab=past")
        expect("Pat Past" in b.text(), b.text())
        b.click("table.meetings td a")
        b.wait_for("Pat Past", "Mark as no-show")
        b.shot(shots, "host-05-past-meeting.png")
        b.click("#no-show-form button")
        b.wait_for("No-show", "Marked as a no-show")
        b.shot(shots, "host-06-no-show.png")

        # The counts moved: nothing upcoming or past, one no-show, one cancelled.
        b.go(f"{base}/calendar")
        end = counts(b)
        expect(end == {"upcoming": 0, "past": 0, "no_shows": 1, "cancelled": 1}, f"counts {end}")
        b.shot(shots, "host-07-counts.png")
        b.go(f"{base}/calendar?tab=cancelled")
        page = b.text()
        expect("Sam Sample" in page and "Cancelled by the host" in page and "Host is travelling" in page, page)
        b.shot(shots, "host-08-cancelled-tab.png")
        b.go(f"{base}/calendar?tab=no_shows")
        expect("Pat Past" in b.text(), b.text())

        b.click("form.logout button")
        b.wait_for("You are logged out.")
        b.go(f"{base}/calendar")
        expect("/login" in b.url(), f"still logged in after logout: {b.url()}")
        b.shot(shots, "host-09-logged-out.png")
    finally:
        b.quit()
    print(f"e2e: host logged in, cancelled, marked a no-show; counts {start} -> {end}; screenshots in {shots}")


if __name__ == "__main__":
    main()
