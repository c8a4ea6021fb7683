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
