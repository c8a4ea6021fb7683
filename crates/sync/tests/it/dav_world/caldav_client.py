"""An independent CalDAV client for crmsync's end-to-end tests: changes one
calendar object the way a user's calendar app would, with the `caldav`
package (https://pypi.org/project/caldav/), nothing of crmsync's.

usage: caldav_client.py SERVER_URL USER PASSWORD CALENDAR_URL UID set PROPERTY VALUE
       caldav_client.py SERVER_URL USER PASSWORD CALENDAR_URL UID delete
"""

import sys

import caldav


def main(argv):
    url, user, password, calendar_url, uid, action, *rest = argv
    with caldav.DAVClient(url=url, username=user, password=password) as client:
        calendar = client.calendar(url=calendar_url)
        item = calendar.get_object_by_uid(uid)
        if action == "set":
            prop, value = rest
            component = item.icalendar_component
            component.pop(prop, None)
            component.add(prop, value)
            # A sync-style save: If-Match on the ETag just read, SEQUENCE untouched.
            item.save(precondition="etag", increase_seqno=False)
        elif action == "delete":
            item.delete()
        else:
            raise SystemExit(f"unknown action {action!r}")
        print(item.url)


if __name__ == "__main__":
    main(sys.argv[1:])
