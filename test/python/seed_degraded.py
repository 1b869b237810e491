# The seed's "Degraded Mode Operations" example, as written (uptime-optimization.txt), with
# the client from its "Automatic Failover" example.
# Added: `import json`, `import os`, base_url from PARROT_URL (e.g. http://127.0.0.1:8080/v1).
# Changed: the example reads response.headers, which the SDK's parsed ChatCompletion does
# not have, so the call goes through `with_raw_response`, as the project's design decides;
# X-User-Priority is the seed's "high" unless PARROT_PRIORITY names another (the tests also run
# the example as a normal user).
import json
import os

from openai import OpenAI
client = OpenAI(
    base_url=os.environ["PARROT_URL"],
    api_key="your-api-key"
)
# Configure degraded mode behavior
degraded_config = {
    "enabled": True,
    "triggers": ["high_latency", "partial_outage", "rate_limiting"],
    "strategies": [
        {
            "condition": "high_latency",
            "action": "reduce_quality",
            "config": {
                "use_model": "gpt-3.5-turbo",  # Faster model
                "reduce_max_tokens": 0.7,
                "disable_streaming": False,
                "cache_aggressively": True
            }
        },
        {
            "condition": "partial_outage",
            "action": "feature_flags",
            "config": {
                "disable_features": ["image_generation", "code_execution"],
                "simplify_prompts": True,
                "use_cached_responses": True,
                "cache_ttl_multiplier": 10  # 10x longer cache
            }
        },
        {
            "condition": "rate_limiting",
            "action": "queue_and_batch",
            "config": {
                "batch_size": 10,
                "max_queue_time_ms": 5000,
                "priority_queue": True,
                "notify_users": True
            }
        }
    ],
    "user_notification": {
        "enabled": True,
        "message": "We're experiencing high demand. Responses may be simplified.",
        "show_status": True
    }
}
response = client.chat.completions.with_raw_response.create(
    model="gpt-4-turbo-preview",
    messages=[{"role": "user", "content": "Process request"}],
    extra_headers={
        "X-Degraded-Mode-Config": json.dumps(degraded_config),
        "X-User-Priority": os.environ.get("PARROT_PRIORITY", "high")  # Priority users skip degradation
    }
)
# Check if degraded mode was activated
if response.headers.get("X-Degraded-Mode") == "active":
    print(f"Degraded mode: {response.headers.get('X-Degradation-Reason')}")
    print(f"Quality impact: {response.headers.get('X-Quality-Score')}/10")
