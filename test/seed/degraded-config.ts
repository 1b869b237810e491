/** The seed's `degraded_config` from "Degraded Mode Operations", verbatim (Python's True/False are JSON true/false). */
export const degraded_config = {
  enabled: true,
  triggers: ['high_latency', 'partial_outage', 'rate_limiting'],
  strategies: [
    {
      condition: 'high_latency',
      action: 'reduce_quality',
      config: {
        use_model: 'gpt-3.5-turbo', // Faster model
        reduce_max_tokens: 0.7,
        disable_streaming: false,
        cache_aggressively: true,
      },
    },
    {
      condition: 'partial_outage',
      action: 'feature_flags',
      config: {
        disable_features: ['image_generation', 'code_execution'],
        simplify_prompts: true,
        use_cached_responses: true,
        cache_ttl_multiplier: 10, // 10x longer cache
      },
    },
    {
      condition: 'rate_limiting',
      action: 'queue_and_batch',
      config: {
        batch_size: 10,
        max_queue_time_ms: 5000,
        priority_queue: true,
        notify_users: true,
      },
    },
  ],
  user_notification: {
    enabled: true,
    message: "We're experiencing high demand. Responses may be simplified.",
    show_status: true,
  },
};
