#!/usr/bin/env python3
"""cdp: load one local HTML file in headless Chromium, as a reader would, and
record what happened -- through the DevTools protocol over a pipe (no
network port, no extra Python package).

    cdp.py FILE.html OUT_DIR [--allow-script] [--width=PX] [--height=PX] [--pdf]
           [--layout]

JavaScript is disabled (Emulation.setScriptExecutionDisabled) before the
page loads, unless --allow-script (the harness's own control case).  Every
request the page makes is recorded from the Network domain; the browser
also runs with a proxy that is a local socket recording any connection
and every host name resolving to nothing, so a fetch that slipped past the
DevTools log would still be caught.  Writes, in OUT_DIR:
    dom.html       the DOM after loading (DOM.getOuterHTML)
    requests.txt   one URL per line: every request other than the file itself
    proxy.txt      one line per connection the proxy saw
    screenshot.png the page, --width (800) CSS pixels wide, at most
                   --height (4000) high; below 600 px as a phone shows it
    print.pdf      with --pdf: the page printed (A4)
    metrics.json   {"content_width", "content_height", "viewport_width"}
    layout.json    with --layout: where every line of text was laid out
                   (DOMSnapshot: nodes, layout boxes and text boxes), for
                   wrap_check.py
Exit status 0, or 1 with a message.
"""
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        for d in os.environ.get("PATH", "/usr/bin").split(":"):
            p = os.path.join(d, name)
            if os.access(p, os.X_OK):
                return p
    sys.exit("cdp: no chromium on PATH (make check-browser installs it)")


class Proxy:
    """A listening socket that records every connection made to it."""

    def __init__(self, log):
        self.log = log
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(2)
            try:
                first = conn.recv(4096).split(b"\r\n", 1)[0]
            except OSError:
                first = b"(no request line)"
            with open(self.log, "a") as f:
                f.write(first.decode("latin-1") + "\n")
            conn.close()


class Browser:
    def __init__(self, extra_args):
        self.profile = tempfile.mkdtemp(prefix="bulkreg-chromium-")
        r_in, w_in = os.pipe()    # we write commands -> chromium's fd 3
        r_out, w_out = os.pipe()  # chromium's fd 4 -> we read replies
        args = [chromium(), "--headless=new", "--remote-debugging-pipe",
                "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-features=Translate,MediaRouter,OptimizationHints",
                "--user-data-dir=" + self.profile, "--window-size=800,600",
                "--hide-scrollbars"] + extra_args
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses root otherwise

        def child_fds():
            # Through high numbers first: r_in or w_out may be 3 or 4.
            a, b = os.dup(r_in), os.dup(w_out)
            hi_a, hi_b = os.dup2(a, 200), os.dup2(b, 201)
            os.dup2(hi_a, 3, inheritable=True)
            os.dup2(hi_b, 4, inheritable=True)
        self.proc = subprocess.Popen(args + ["about:blank"], close_fds=False,
                                     preexec_fn=child_fds,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(r_in)
        os.close(w_out)
        self.w = os.fdopen(w_in, "wb", buffering=0)
        self.r = os.fdopen(r_out, "rb", buffering=0)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = self.r.read(65536)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.w.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, name, timeout=60, pred=lambda p: True):
        deadline = time.monotonic() + timeout
        for m in self.events:
            if m.get("method") == name and pred(m.get("params", {})):
                return m
        while True:
            m = self._read_message(deadline)
            self.events.append(m)
            if m.get("method") == name and pred(m.get("params", {})):
                return m

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["rm", "-rf", self.profile])


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    allow_script = "--allow-script" in sys.argv
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:]
                if a.startswith("--") and "=" in a)
    width = int(opts.get("width", 800))
    max_height = int(opts.get("height", 4000))
    if len(args) != 2:
        sys.exit(__doc__)
    page, out = os.path.abspath(args[0]), args[1]
    os.makedirs(out, exist_ok=True)
    proxy_log = os.path.join(out, "proxy.txt")
    open(proxy_log, "w").close()
    proxy = Proxy(proxy_log)
    b = Browser(["--proxy-server=http://127.0.0.1:%d" % proxy.port,
                 "--proxy-bypass-list=<-loopback>"])
    url = "file://" + page
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})
        sess = b.send("Target.attachToTarget",
                      {"targetId": target["targetId"], "flatten": True})["sessionId"]
        b.send("Page.enable", session=sess)
        b.send("Page.setLifecycleEventsEnabled", {"enabled": True}, session=sess)
        b.send("Network.enable", session=sess)
        if not allow_script:
            b.send("Emulation.setScriptExecutionDisabled", {"value": True},
                   session=sess)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": 800, "deviceScaleFactor": 1,
                "mobile": width < 600}, session=sess)
        nav = b.send("Page.navigate", {"url": url}, session=sess)
        b.wait_event("Page.loadEventFired")
        # Everything the page asked for has been asked for (and answered
        # or failed) once the network is idle.
        b.wait_event("Page.lifecycleEvent",
                     pred=lambda p: p.get("name") == "networkIdle" and
                     p.get("loaderId") == nav.get("loaderId"))
        doc = b.send("DOM.getDocument", {"depth": -1}, session=sess)
        html = b.send("DOM.getOuterHTML", {"nodeId": doc["root"]["nodeId"]},
                      session=sess)["outerHTML"]
        with open(os.path.join(out, "dom.html"), "w", encoding="utf-8") as f:
            f.write(html)
        metrics = b.send("Page.getLayoutMetrics", session=sess)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        with open(os.path.join(out, "metrics.json"), "w") as f:
            json.dump({"content_width": size["width"],
                       "content_height": size["height"],
                       "viewport_width": width}, f)
        shot = b.send("Page.captureScreenshot",
                      {"format": "png", "captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": width,
                                "height": min(size["height"], max_height),
                                "scale": 1}}, session=sess)
        with open(os.path.join(out, "screenshot.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        if "--layout" in sys.argv:
            snap = b.send("DOMSnapshot.captureSnapshot",
                          {"computedStyles": ["white-space", "overflow-wrap"]},
                          session=sess, timeout=120)
            with open(os.path.join(out, "layout.json"), "w") as f:
                json.dump(snap, f)
        if "--pdf" in sys.argv:
            pdf = b.send("Page.printToPDF",
                         {"paperWidth": 8.27, "paperHeight": 11.69},
                         session=sess, timeout=120)
            with open(os.path.join(out, "print.pdf"), "wb") as f:
                f.write(base64.b64decode(pdf["data"]))
        # Drain what is left, then list the requests.
        try:
            b.send("Runtime.evaluate", {"expression": "1"}, session=sess,
                   timeout=5)
        except Exception:
            pass
        reqs = [m["params"]["request"]["url"] for m in b.events
                if m.get("method") == "Network.requestWillBeSent"]
        with open(os.path.join(out, "requests.txt"), "w") as f:
            for r in reqs:
                if r != url:
                    f.write(r + "\n")
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
