#!/usr/bin/env python3
"""Dashboard test in a real headless browser (Debian's chromium + chromedriver, driven by
selenium): starts `qam serve` on 127.0.0.1 (ephemeral port, with a token), submits a
tempering job, opens the dashboard, enters the token, and checks that the job is listed
and that its live best-energy plot gets points from the event stream. Every wait is
bounded; only loopback addresses are used.

Usage: serve_browser_test.py PATH/TO/qam
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

TOKEN = "browser-test-token"


def api(addr, method, path, body=None):
    req = urllib.request.Request(
        f"http://{addr}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def graph(n, degree, seed):
    """A sparse random graph in G-set format (deterministic)."""
    x, edges = seed, set()
    for i in range(n):
        for _ in range(degree // 2):
            x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
            j = (x >> 33) % n
            if j != i:
                edges.add((min(i, j), max(i, j)))
    return f"{n} {len(edges)}\n" + "".join(f"{a + 1} {b + 1} 1\n" for a, b in sorted(edges))


def main():
    qam = sys.argv[1]
    work = tempfile.mkdtemp(prefix="qam-browser-")
    token_file = os.path.join(work, "token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    server = subprocess.Popen(
        [qam, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "data"),
         "--token-file", token_file],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    driver = None
    try:
        line = server.stdout.readline()
        addr = line.strip().rsplit("http://", 1)[1]
        assert addr.startswith("127.0.0.1:"), line
        job = api(addr, "POST", "/v1/jobs", {
            "format": "gset", "data": graph(2000, 6, 1), "solver": "pt", "time_limit": 30,
            "params": {"sweeps": 2_000_000_000, "replicas": 16, "seed": 1}})["id"]

        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", f"--user-data-dir={os.path.join(work, 'profile')}"]:
            opts.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                                  options=opts)
        driver.set_page_load_timeout(30)
        driver.get(f"http://{addr}/")
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        driver.find_element(By.ID, "save").click()
        wait = WebDriverWait(driver, 30, poll_frequency=0.2)
        row = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'tr[data-id="{job}"]'))
        assert "pt" in row.text, row.text
        row.click()
        count = wait.until(lambda d: int(d.find_element(By.ID, "curve").get_attribute("data-count") or 0) >= 2
                           and d.find_element(By.ID, "curve").get_attribute("data-count"))
        points = driver.find_element(By.ID, "curve").get_attribute("points")
        assert len(points.split()) >= 2, points
        status = driver.find_element(By.ID, "status").text
        assert status.startswith("running"), status
        # Everything on the page came from the server itself: no external resources.
        hosts = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
        assert all(h == addr for h in hosts), hosts
        api(addr, "DELETE", f"/v1/jobs/{job}")
        final = None
        for _ in range(200):
            final = api(addr, "GET", f"/v1/jobs/{job}")
            if final["status"] not in ("queued", "running"):
                break
            time.sleep(0.05)
        assert final["status"] == "cancelled", final["status"]
        print(f"browser test ok: job {job} listed, {count} plotted best-energy points, "
              f"final energy {final['result']['energy']}")
    finally:
        if driver is not None:
            driver.quit()
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
