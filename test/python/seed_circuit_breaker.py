# The seed's "Circuit Breaker Pattern" example, as written (uptime-optimization.txt), with
# the client from its "Automatic Failover" example.
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
# Circuit breaker configuration
circuit_config = {
    "error_threshold": 5,  # Failures to trigger open state
    "error_threshold_window": 60,  # Window in seconds
    "timeout": 30,  # Seconds before half-open
    "half_open_requests": 3,  # Test requests in half-open
    "success_threshold": 2,  # Successes to close circuit
    "excluded_errors": ["rate_limit", "quota_exceeded"],
    "monitor_latency": True,
    "latency_threshold_ms": 5000  # Open if latency too high
}
response = client.chat.completions.with_raw_response.create(
    model="gpt-4-turbo-preview",
    messages=[{"role": "user", "content": "Request"}],
    extra_headers={
        "X-Circuit-Breaker": json.dumps(circuit_config),
        "X-Circuit-Breaker-Fallback": "cache"  # or "degraded", "error"
    }
)
# Check circuit status
if response.headers.get("X-Circuit-Status") == "open":
    print("Circuit open - using fallback")
    print(f"Retry after: {response.headers.get('X-Retry-After')}s")
