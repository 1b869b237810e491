# The seed's "Incident Management" example, as written (uptime-optimization.txt).
# Added: `import os`; the URL from PARROT_HTTP (e.g. http://127.0.0.1:8080) instead of
# https://api.parrotrouter.com; the last line prints the subscribe call's status, which the
# seed does not use. The seed's `print(f"` + line break + `Incident: ...")` is its rendering
# of "\n".
import os

import requests
# Get incident history
incidents = requests.get(
    os.environ["PARROT_HTTP"] + "/v1/incidents",
    headers={"Authorization": "Bearer your-api-key"},
    params={"days": 30}
).json()
for incident in incidents['incidents']:
    print(f"\nIncident: {incident['id']}")
    print(f"Date: {incident['timestamp']}")
    print(f"Duration: {incident['duration_minutes']} minutes")
    print(f"Impact: {incident['impact']}")
    print(f"Affected: {incident['affected_services']}")
    print(f"Resolution: {incident['resolution']}")
# Subscribe to incident notifications
notification_config = {
    "channels": ["email", "webhook", "sms"],
    "severity_threshold": "medium",  # low, medium, high, critical
    "webhook_url": "https://your-app.com/incidents",
    "include_types": ["outage", "degraded_performance", "partial_outage"],
    "regions": ["us-east-1", "eu-west-1"]
}
response = requests.post(
    os.environ["PARROT_HTTP"] + "/v1/incidents/subscribe",
    headers={"Authorization": "Bearer your-api-key"},
    json=notification_config
)
print(response.status_code)
