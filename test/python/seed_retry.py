# The seed's "Retry Strategies" examples, as written (uptime-optimization.txt), with the
# client from its "Automatic Failover" example. `custom_retry` is defined, not called, as in
# the seed; the test calls it through runpy.
# Added: `import json`, `import os`, base_url from PARROT_URL (e.g. http://127.0.0.1:8080/v1).
import json
import os

from openai import OpenAI
client = OpenAI(
    base_url=os.environ["PARROT_URL"],
    api_key="your-api-key"
)
# Configure retry strategy
response = client.chat.completions.create(
    model="gpt-4-turbo-preview",
    messages=[{"role": "user", "content": "Important request"}],
    extra_headers={
        "X-Retry-Strategy": "exponential",
        "X-Retry-Config": json.dumps({
            "initial_delay_ms": 100,
            "max_delay_ms": 10000,
            "multiplier": 2,
            "max_retries": 5,
            "jitter": True,  # Add randomness to prevent thundering herd
            "retry_on": ["timeout", "server_error", "rate_limit"]
        })
    }
)


# Custom retry logic
def custom_retry():
    retry_config = {
        "strategy": "custom",
        "rules": [
            {
                "error_type": "rate_limit",
                "wait_ms": "parse_retry_after_header",
                "max_wait_ms": 60000
            },
            {
                "error_type": "timeout",
                "attempts": [100, 200, 500, 1000, 2000],  # ms delays
                "switch_provider_after": 2
            },
            {
                "error_type": "server_error",
                "immediate_failover": True
            }
        ]
    }
    return client.chat.completions.create(
        model="gpt-4-turbo-preview",
        messages=[{"role": "user", "content": "Request"}],
        extra_headers={
            "X-Retry-Config": json.dumps(retry_config)
        }
    )
