"""Browser end-to-end test of the host's one-click move, driven through chromedriver's W3C
WebDriver HTTP API with the standard library only: log in as the demo host, open the upcoming
sample booking, pick another of the link's free times from the "Move this meeting" form, add a
note, submit, and see the history line "Moved by the host" with the note.

usage: host_reschedule_flow.py BASE_URL CHROMEDRIVER_URL SCREENSHOT_DIR LOGIN PASSWORD
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from booking_flow import Browser, expect  # noqa: E402


def main():
    base, driver, shots, login, password = sys.argv[1:6]
    os.makedirs(shots, exist_ok=True)
    b = Browser(driver)
    try:
        b.go(f"{base}/login")
        b.type("#email", login)
        b.type("#password", password)
        b.click("form[action='/login'] button[type=submit]")
        b.wait_for("Your meetings", timeout=60.0)

        b.click("table.meetings td a")
        page = b.wait_for("Sam Sample", "Move this meeting")
        before = b.s("POST", "/execute/sync", {
            "script": "return document.querySelector('p.when').textContent", "args": []})
        # Pick the third offered time, as a person would: open the list and click it.
        b.click("#move-start")
        b.click("#move-start option:nth-of-type(3)")
        chosen = b.s("POST", "/execute/sync", {
            "script": "const s = document.querySelector('#move-start');"
                      "return s.options[s.selectedIndex].textContent", "args": []})
        b.type("#move-note", "Something came up; this time is better for me.")
        b.shot(shots, "host-reschedule-form.png")
        b.click("#move-form button[type=submit]")
        page = b.wait_for("Moved by the host", "Something came up")
        after = b.s("POST", "/execute/sync", {
            "script": "return document.querySelector('p.when').textContent", "args": []})
        expect(after != before, f"the meeting did not move: {before} -> {after}")
        expect("the attendee is being sent the new time" in page, page)
        b.shot(shots, "host-reschedule.png")
    finally:
        b.quit()
    print(f"e2e: host moved the sample meeting from {before} to {after} (picked {chosen}); "
          f"screenshots in {shots}")


if __name__ == "__main__":
    main()
