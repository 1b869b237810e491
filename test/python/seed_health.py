# The seed's "Health Monitoring" example, as written (uptime-optimization.txt).
# Added: `import json`, `import os`; the URLs from PARROT_HTTP (e.g. http://127.0.0.1:8080)
# and PARROT_WS (ws://127.0.0.1:8080) instead of https://api.parrotrouter.com and
# wss://api.parrotrouter.com. The seed's `print(f"` + line break + `{provider['name']}:")`
# is its rendering of "\n".
import json
import os

import requests
import websocket
# Get current health status
health = requests.get(
    os.environ["PARROT_HTTP"] + "/v1/health",
    headers={"Authorization": "Bearer your-api-key"}
).json()
print(f"System Status: {health['status']}")  # healthy, degraded, down
print(f"Overall Uptime: {health['uptime_percentage']}%")
# Provider-specific health
for provider in health['providers']:
    print(f"\n{provider['name']}:")
    print(f" Status: {provider['status']}")
    print(f" Uptime (24h): {provider['uptime_24h']}%")
    print(f" Response time: {provider['avg_response_time_ms']}ms")
    print(f" Error rate: {provider['error_rate']}%")
    # Model health
    for model in provider['models']:
        status_icon = "✅" if model['healthy'] else "❌"
        print(f" {status_icon} {model['name']}: {model['status']}")
# Real-time health updates
def on_health_update(ws, message):
    update = json.loads(message)
    if update['type'] == 'provider_down':
        print(f"ALERT: {update['provider']} is down!")
        print(f"Affected models: {update['models']}")
        print(f"Fallback active: {update['fallback_provider']}")
    elif update['type'] == 'provider_recovered':
        print(f"RECOVERY: {update['provider']} is back online")
ws = websocket.WebSocketApp(
    os.environ["PARROT_WS"] + "/v1/health/stream",
    header=["Authorization: Bearer your-api-key"],
    on_message=on_health_update
)
ws.run_forever()
