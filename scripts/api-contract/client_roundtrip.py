"""A client generated from /api/v1/openapi.json by openapi-python-client
creates, lists, updates (with If-Match) and deletes a contact against a
running crmsync server (R-API-17). Run by crates/app/tests/it/api_contract.rs:

    python client_roundtrip.py GENERATED_DIR BASE_URL TOKEN

Exits non-zero, saying which step failed, on any deviation."""

import sys

sys.path.insert(0, sys.argv[1])
base_url, token = sys.argv[2], sys.argv[3]

from crmsync_api_client import AuthenticatedClient  # noqa: E402
from crmsync_api_client.api.contacts import (  # noqa: E402
    create_contact,
    delete_contact,
    get_contact,
    list_contacts,
    update_contact,
)
from crmsync_api_client.models import ContactFields  # noqa: E402

client = AuthenticatedClient(base_url=base_url, token=token)


passed = 0


def check(what, condition, detail=""):
    global passed
    if not condition:
        sys.exit(f"generated client: {what} failed {detail}")
    passed += 1
    print(f"ok: {what}")


created = create_contact.sync_detailed(
    client=client, body=ContactFields(first_name="Grace", last_name="Hopper", email1="grace@example.org")
)
check("create", created.status_code == 201, created.content)
contact = created.parsed
contact_id = contact.id
check("create returns the record", contact.last_name == "Hopper" and contact.version == 1, contact)

listed = list_contacts.sync_detailed(client=client, limit=500)
check("list", listed.status_code == 200, listed.content)
check("list holds it", any(c.id == contact_id for c in listed.parsed.items))

read = get_contact.sync_detailed(id=contact_id, client=client)
etag = read.headers.get("etag")
check("read with ETag", read.status_code == 200 and etag == '"1"', (read.status_code, etag))

# What was read, edited, sent back (R-API-11: the metadata is ignored).
edited = read.parsed.to_dict()
edited["last_name"] = "Hopper-Murray"
body = ContactFields.from_dict(edited)
updated = update_contact.sync_detailed(id=contact_id, client=client, body=body, if_match=etag)
check("update with If-Match", updated.status_code == 200, updated.content)
check("update saved", updated.parsed.last_name == "Hopper-Murray" and updated.parsed.version == 2, updated.parsed)

stale = update_contact.sync_detailed(id=contact_id, client=client, body=body, if_match=etag)
check("a stale If-Match is 409", stale.status_code == 409, stale.content)

deleted = delete_contact.sync_detailed(id=contact_id, client=client, if_match='"2"')
check("delete with If-Match", deleted.status_code == 204, deleted.content)
gone = get_contact.sync_detailed(id=contact_id, client=client)
check("gone", gone.status_code == 404, gone.content)
print(f"client: {passed} passed, 0 failed")
