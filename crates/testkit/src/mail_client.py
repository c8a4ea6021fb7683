# A user's mail client for crmsync's tests: one IMAP operation per call, with
# Python's imaplib (written by no one here). Arguments: host port user password
# op [args...]; a message to APPEND comes on stdin. Prints a JSON result.
import imaplib
import json
import re
import sys

host, port, user, password, op, *args = sys.argv[1:]
conn = imaplib.IMAP4(host, int(port))
conn.login(user, password)


def check(result):
    typ, data = result
    if typ != "OK":
        raise SystemExit(f"{op} failed: {typ} {data}")
    return data


def select(folder):
    check(conn.select(f'"{folder}"'))


out = None
if op == "create":
    check(conn.create(f'"{args[0]}"'))
elif op == "delete":
    check(conn.delete(f'"{args[0]}"'))
elif op == "append":
    folder, flags = args
    data = check(conn.append(f'"{folder}"', f"({flags})" if flags else None, None, sys.stdin.buffer.read()))
    match = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
    out = int(match.group(2))
elif op == "fill":
    # COUNT generated messages (Message-ID <PREFIX-i@load.example>), put by
    # MULTIAPPEND (RFC 3502) with non-synchronising literals (LITERAL+,
    # RFC 7888), 250 messages per command over this one connection: imaplib
    # sends one message per APPEND, which makes thousands slow.
    folder, count, prefix = args
    count = int(count)

    def generated(i):
        return (
            f"Message-ID: <{prefix}-{i}@load.example>\r\n"
            f"From: Sender {i % 50} <sender{i % 50}@load.example>\r\n"
            f"To: {user}@crm.example\r\n"
            f"Subject: Load {i}\r\n"
            "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            + f"Message {i} of the first scan.\r\n" * 20
        ).encode()

    for start in range(0, count, 250):
        tag = f"FILL{start}".encode()
        command = bytearray(tag + f' APPEND "{folder}"'.encode())
        for i in range(start, min(count, start + 250)):
            message = generated(i)
            command += b" {%d+}\r\n" % len(message) + message
        conn.send(bytes(command + b"\r\n"))
        while True:
            line = conn.readline()
            if not line:
                raise SystemExit("fill failed: the server closed the connection")
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise SystemExit(f"fill failed: {line!r}")
                break
    out = count
elif op == "count":
    folder, keyword = args
    select(folder)
    data = check(conn.uid("SEARCH", None, "KEYWORD", keyword))
    out = len(data[0].split())
elif op == "move":
    folder, uid, target = args
    select(folder)
    check(conn.uid("MOVE", uid, f'"{target}"'))
elif op == "store":
    folder, uid, action, flags = args
    select(folder)
    check(conn.uid("STORE", uid, action, f"({flags})"))
elif op == "expunge":
    folder, uid = args
    select(folder)
    check(conn.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)"))
    check(conn.expunge())
elif op == "flags":
    folder, uid = args
    select(folder)
    data = check(conn.uid("FETCH", uid, "(FLAGS)"))
    flags = []
    for item in data:
        if isinstance(item, bytes):
            m = re.search(rb"FLAGS \(([^)]*)\)", item)
            if m:
                flags = m.group(1).decode().split()
    out = flags
elif op == "uids":
    select(args[0])
    data = check(conn.uid("SEARCH", None, "ALL"))
    out = [int(x) for x in data[0].split()]
else:
    raise SystemExit(f"unknown op {op}")
conn.logout()
print(json.dumps(out))
