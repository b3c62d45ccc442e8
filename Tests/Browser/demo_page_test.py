#!/usr/bin/python3
"""The `netstack demo --html` page in a real browser (headless Chromium over WebDriver).

Makes the page and the capture in one run, opens the page, and checks: no console
errors, no network request; the right-arrow key steps the journey (highlighted
cable and narration as the page's data says); clicking the SYN shows the fields
tshark decodes from the same frame of the capture, and its bytes highlighted;
clicking a byte selects its field; clicking a ladder arrow opens its frame; at
phone width nothing overflows sideways. Saves three screenshots under a
temporary directory (printed). Needs Debian's chromium, chromium-driver,
python3-selenium and tshark.

Usage: demo_page_test.py NETSTACK_BINARY [SCREENSHOT_DIR]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.chrome.service import Service

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message)


def tshark_fields(pcap, frame_number, fields):
    args = ["tshark", "-r", pcap, "-Y", "frame.number == %d" % frame_number, "-T", "fields"]
    for field in fields:
        args += ["-e", field]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip("\n")
    return out.split("\t")


def collect_logs(driver, pages, errors, requests):
    """Adds the console's errors and warnings, and every request for anything but `pages`, since the last call."""
    errors += [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url not in ["file://" + p for p in pages]:
                requests.append(url)


def main():
    netstack = sys.argv[1]
    shots = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="netstack-page-shots-")
    os.makedirs(shots, exist_ok=True)
    work = tempfile.mkdtemp(prefix="netstack-page-")
    page, pcap = os.path.join(work, "demo.html"), os.path.join(work, "demo.pcap")
    subprocess.run([netstack, "demo", "--lang", "en", "--no-color", "--html", page, "--pcap", pcap],
                   check=True, stdout=subprocess.DEVNULL)
    text = open(page, encoding="utf-8").read()
    data = json.loads(re.search(r'<script type="application/json" id="demo-data">(.*?)</script>', text, re.S).group(1))

    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,720"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    errors, requests = [], []
    try:
        driver.set_page_load_timeout(30)
        driver.get("file://" + page)
        body = driver.find_element(By.TAG_NAME, "body")

        # Stepping: hop k highlights hop k's cable, and its narration is shown.
        hops = data["hops"]
        check(driver.find_element(By.ID, "hop-count").text.startswith("Hop 1 of %d" % len(hops)), "the journey starts at hop 1")
        driver.save_screenshot(os.path.join(shots, "1-start.png"))
        for target in [1, 2, 40, 120]:
            while int(driver.find_element(By.ID, "hop-count").text.split()[1]) - 1 < target:
                ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()
            active = [e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, ".cable.active")]
            check(active == ["cable-" + hops[target]["cable"]], "hop %d: highlighted %s, expected cable-%s" % (target + 1, active, hops[target]["cable"]))
            check(hops[target]["info"] in driver.find_element(By.ID, "hop-what").text, "hop %d: the hop's frame is described" % (target + 1))
            told = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#narration li")]
            step = [s for s in data["steps"] if s["t"] <= hops[target]["t"]][-1]
            check(driver.find_element(By.ID, "step-title").text == step["title"], "hop %d: the step's title is shown" % (target + 1))
            expected = [l[1] for l in data["lines"][step["line"]:] if l[0] <= hops[target]["t"] and l[1].strip() and not l[1].startswith("== ")]
            check(told and expected and told[-1].strip() == expected[-1].strip(), "hop %d: the narration ends with the last line told by then: %r vs %r" % (target + 1, told[-1:], expected[-1:]))
        driver.save_screenshot(os.path.join(shots, "2-hop-121.png"))

        # The SYN: its dissection against tshark's decoding of the same frame of the capture.
        syn = next(i for i, f in enumerate(data["frames"]) if "[SYN]" in f["info"])
        row = driver.find_element(By.ID, "frame-%d" % (syn + 1))
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
        row.click()
        check(driver.find_element(By.ID, "hop-count").text.startswith("Hop %d of" % (1 + next(k for k, h in enumerate(hops) if h["frame"] == syn))),
              "clicking the SYN moves the journey to the SYN's hop on the browser's cable")
        fields = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#tree .field")]
        sport, dport, window, mss, seq_raw = tshark_fields(pcap, syn + 1, ["tcp.srcport", "tcp.dstport", "tcp.window_size_value", "tcp.options.mss_val", "tcp.seq_raw"])
        for expected in ["Source port: " + sport, "Destination port: " + dport, "Window: " + window,
                         "Maximum segment size: " + mss + " bytes"]:
            check(expected in fields, "the SYN's dissection shows %r (tshark)" % expected)
        check(any(f.startswith("Sequence number: 0 (relative; raw %s)" % seq_raw) for f in fields), "relative sequence 0, raw as tshark")
        source = next(e for e in driver.find_elements(By.CSS_SELECTOR, "#tree .field") if e.text.startswith("Source port"))
        source.click()
        highlighted = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#hex .b.hl")]
        check(highlighted == ["%02x" % (int(sport) >> 8), "%02x" % (int(sport) & 255)], "Source port's bytes highlighted: %s" % highlighted)
        driver.find_element(By.CSS_SELECTOR, '#hex .b[data-i="38"]').click()
        selected = driver.find_element(By.CSS_SELECTOR, "#tree .field.selected").text
        check(selected.startswith("Sequence number"), "clicking byte 38 selects the sequence number, not %r" % selected)
        driver.find_element(By.CSS_SELECTOR, '#hex .b[data-i="47"]').click()
        selected = driver.find_element(By.CSS_SELECTOR, "#tree .field.selected").text
        check(selected == "FIN: not set", "clicking byte 47 selects the first flag, not %r" % selected)
        check([e.text for e in driver.find_elements(By.CSS_SELECTOR, "#hex .b.hl")] == ["02"], "the flags byte of a SYN is 02")
        driver.save_screenshot(os.path.join(shots, "3-syn-dissected.png"))

        # A ladder arrow: the retransmission opens its frame.
        arrow = driver.find_element(By.CSS_SELECTOR, "#ladder-svg .arrow.retrans")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", arrow)
        frame = int(arrow.get_attribute("data-frame"))
        arrow.click()
        check(driver.find_element(By.CSS_SELECTOR, "#frame-rows tr.selected").get_attribute("id") == "frame-%d" % (frame + 1),
              "the retransmission's arrow opens frame %d" % (frame + 1))
        check(len(driver.find_elements(By.CSS_SELECTOR, "#ladder-svg .arrow.lost")) == 1, "one lost arrow in the ladder")

        # Phone width: nothing wider than the screen.
        driver.set_window_size(390, 844)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        check(overflow <= 1, "at phone width the page is %d px wider than the screen" % overflow)

        collect_logs(driver, [page], errors, requests)

        # The same run in Korean: the page's own words too, and still no error.
        korean = os.path.join(work, "demo-ko.html")
        subprocess.run([netstack, "demo", "--lang", "ko", "--no-color", "--html", korean], check=True, stdout=subprocess.DEVNULL)
        driver.set_window_size(1280, 720)
        driver.get("file://" + korean)
        check(driver.find_element(By.ID, "next").text == "다음 ▶", "the Korean page's Next button")
        ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()
        check(driver.find_element(By.ID, "hop-count").text.startswith("홉 2 /"), "the Korean page steps: %r" % driver.find_element(By.ID, "hop-count").text)

        collect_logs(driver, [page, korean], errors, requests)
        check(not errors, "console errors or warnings: %s" % errors)
        check(not requests, "network requests: %s" % requests)
    finally:
        driver.quit()
    print("screenshots in " + shots)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all browser checks passed")


if __name__ == "__main__":
    main()
