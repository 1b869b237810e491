# The seed's "Request Hedging" example, as written (uptime-optimization.txt), with the client
# from its "Automatic Failover" example.
# Added: `import json`, `import os`, base_url from PARROT_URL (e.g. http://127.0.0.1:8080/v1).
# Changed: the example reads response.headers, which the SDK's parsed ChatCompletion does
# not have, so the call goes through `with_raw_response`, as the project's design decides.
import json
import os

from openai import OpenAI
client = OpenAI(
    base_url=os.environ["PARROT_URL"],
    api_key="your-api-key"
)
# Hedge requests for lowest latency
response = client.chat.completions.with_raw_response.create(
    model="gpt-4-turbo-preview",
    messages=[{"role": "user", "content": "Time-critical request"}],
    extra_headers={
        "X-Request-Hedging": "true",
        "X-Hedge-Config": json.dumps({
            "strategy": "latency",  # or "first-success"
            "providers": ["openai", "anthropic"],
            "delay_ms": 200,  # Start second request after 200ms
            "cancel_slower": True,
            "max_additional_cost": 0.05  # Cost limit for hedging
        })
    }
)
print(f"Winner: {response.headers.get('X-Hedge-Winner')}")
print(f"Latency saved: {response.headers.get('X-Hedge-Latency-Saved')}ms")
