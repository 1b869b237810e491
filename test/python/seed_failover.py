# The seed's "Automatic Failover" example, as written (uptime-optimization.txt).
# Added: `import json` (the seed uses json.dumps without importing it), `import os`, and
# base_url from PARROT_URL (e.g. http://127.0.0.1:8080/v1).
import json
import os

from openai import OpenAI
client = OpenAI(
    base_url=os.environ["PARROT_URL"],
    api_key="your-api-key"
)
# Simple failover configuration
response = client.chat.completions.create(
    model="gpt-4-turbo-preview",
    messages=[{"role": "user", "content": "Critical request"}],
    extra_headers={
        "X-Failover-Enabled": "true",
        "X-Failover-Providers": "openai,anthropic,google",
        "X-Max-Retries": "3",
        "X-Retry-Delay-Ms": "100"
    }
)
# Advanced failover with conditions
failover_config = {
    "primary": {
        "provider": "openai",
        "model": "gpt-4-turbo-preview"
    },
    "fallbacks": [
        {
            "trigger": ["timeout", "rate_limit"],
            "provider": "anthropic",
            "model": "claude-3-opus",
            "max_latency_increase": 500  # Accept 500ms more latency
        },
        {
            "trigger": ["server_error", "model_overloaded"],
            "provider": "google",
            "model": "gemini-pro",
            "reduce_quality": True  # Accept lower quality for availability
        },
        {
            "trigger": "any_error",
            "provider": "openai",
            "model": "gpt-3.5-turbo",
            "reduce_max_tokens": 0.5  # Reduce by 50%
        }
    ],
    "health_check_interval": 30,  # seconds
    "failure_threshold": 3,
    "success_threshold": 2
}
response = client.chat.completions.create(
    model="gpt-4-turbo-preview",
    messages=[{"role": "user", "content": "Process this request"}],
    extra_headers={
        "X-Failover-Config": json.dumps(failover_config)
    }
)
