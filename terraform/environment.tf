# tfdoc:file:description Environment variables and secrets each function reads.

locals {
  # Entry points that read a variable, as declared in eerender/config.py ENVIRONMENT.
  # tests/terraform checks these lists against the code.
  _readers = {
    all_functions  = ["chat_google", "chat_slack", "render_http", "render_pubsub", "render_storage"]
    chat_apps      = ["chat_google", "chat_slack"]
    event_render   = ["render_pubsub", "render_storage"]
    google_chat    = ["chat_google"]
    http_render    = ["render_http"]
    slack          = ["chat_slack"]
    storage_render = ["render_storage"]
  }

  # Prefix of every object the functions write to the render bucket. It is set
  # explicitly because the chat claims' grant and lifecycle rule are built from it.
  render_object_prefix = "renders/"
  # eerender/command_claims.py keeps command and reply claims under this folder.
  chat_claims_prefix = "${local.render_object_prefix}chat/"

  _source_buckets = var.expression_policy.source_buckets == null ? null : join(",", var.expression_policy.source_buckets)

  # Values Terraform sets. A function gets an entry only when it reads the variable and
  # the value is not null, so the code's own defaults apply otherwise. A value may be
  # a map keyed by entry point when each function needs its own.
  _environment = {
    BATCH_MAX_ITEMS = {
      functions = local._readers.http_render
      value     = var.events.batch_max_items
    }
    CHAT_AUDIENCE = {
      functions = local._readers.google_chat
      value = {
        ""             = null
        project-number = data.google_project.main.number
        endpoint-url   = local.run_urls.chat_google
      }[var.chat.google_audience]
    }
    CHAT_REPLY_SECONDS = {
      functions = local._readers.google_chat
      value     = var.chat.reply_seconds
    }
    COMMAND_REPEAT_SECONDS = {
      functions = local._readers.chat_apps
      value     = var.chat.repeat_seconds
    }
    CORS_ALLOWED_ORIGINS = {
      functions = local._readers.http_render
      value     = length(var.cors_allowed_origins) > 0 ? join(",", var.cors_allowed_origins) : null
    }
    EE_API_URL = {
      functions = local._readers.all_functions
      value     = var.earth_engine_high_volume ? "https://earthengine-highvolume.googleapis.com" : null
    }
    EE_PROJECT = {
      functions = local._readers.all_functions
      value     = local.earth_engine_project_id
    }
    EVENT_MAX_AGE = {
      functions = local._readers.event_render
      value     = var.events.max_age_seconds
    }
    GEOTIFF_PREVIEW = {
      functions = local._readers.storage_render
      value     = var.events.geotiff_preview
    }
    HTTP_AUTH_MODES = {
      functions = local._readers.http_render
      value     = join(",", sort(tolist(var.http_security.auth_modes)))
    }
    HTTP_HMAC_MAX_SKEW = {
      functions = local._readers.http_render
      value     = var.http_security.hmac_max_skew_seconds
    }
    HTTP_MAX_PIXELS = {
      functions = local._readers.http_render
      value     = var.http_security.max_pixels
    }
    HTTP_RATE_BURST = {
      functions = local._readers.http_render
      value     = var.http_security.rate_burst
    }
    HTTP_RATE_LIMIT = {
      functions = local._readers.http_render
      value     = var.http_security.rate_limit_per_minute
    }
    HTTP_TRUSTED_PROXY_HOPS = {
      functions = local._readers.http_render
      value     = var.http_security.trusted_proxy_hops
    }
    LOG_LEVEL = {
      functions = local._readers.all_functions
      value     = var.log_level
    }
    PUBSUB_API_URL = {
      functions = local._readers.all_functions
      value     = var.pubsub.endpoint
    }
    PUBSUB_TIMEOUT = {
      functions = local._readers.all_functions
      value     = var.pubsub.publish_timeout_seconds
    }
    # A private chat function receives ID tokens that Cloud Run has checked, with the
    # signature replaced; the code then checks their claims only.
    TOKENS_CHECKED_BY_CLOUD_RUN = {
      functions = local._readers.chat_apps
      value = {
        for name in local._readers.chat_apps :
        name => contains(var.public_access.functions, name) ? null : "true"
      }
    }
    # What the ID token of a result push must carry: the subscription's audience, which
    # is the function's own URL, and the push identity.
    PUSH_AUDIENCE = {
      functions = local._readers.chat_apps
      value     = local.run_urls
    }
    PUSH_SERVICE_ACCOUNT = {
      functions = local._readers.chat_apps
      value     = google_service_account.results_push.email
    }
    RENDER_ALLOWED_ALGORITHMS = {
      functions = local._readers.all_functions
      value     = var.expression_policy.algorithms == null ? null : join(",", var.expression_policy.algorithms)
    }
    RENDER_ALLOWED_ASSET_PREFIXES = {
      functions = local._readers.all_functions
      value     = var.expression_policy.asset_prefixes == null ? null : join(",", var.expression_policy.asset_prefixes)
    }
    RENDER_ALLOWED_BUCKETS = {
      functions = local._readers.all_functions
      value     = length(var.extra_render_buckets) > 0 ? join(",", var.extra_render_buckets) : null
    }
    # render_storage previews uploaded GeoTIFFs with Image.loadGeoTIFF, which the
    # policy checks like any gs:// read, so a list always includes the request bucket.
    RENDER_ALLOWED_SOURCE_BUCKETS = {
      functions = local._readers.all_functions
      value = {
        for name in keys(local.functions) : name => (
          name == "render_storage" && local._source_buckets != null
          ? join(",", concat(var.expression_policy.source_buckets, [google_storage_bucket.requests.name]))
          : local._source_buckets
        )
      }
    }
    RENDER_BUCKET = {
      functions = local._readers.all_functions
      value     = google_storage_bucket.renders.name
    }
    RENDER_OBJECT_PREFIX = {
      functions = local._readers.all_functions
      value     = local.render_object_prefix
    }
    REQUEST_PREFIX = {
      functions = local._readers.storage_render
      value     = var.events.request_prefix
    }
    # Topics are passed as full resource names, projects/PROJECT/topics/TOPIC. The
    # code would complete a bare topic id with EE_PROJECT, which is the Earth Engine
    # project and need not be the project that holds the topics.
    REQUEST_TOPIC = {
      functions = concat(local._readers.http_render, local._readers.chat_apps)
      value     = google_pubsub_topic.requests.id
    }
    RESULTS_TOPIC = {
      functions = local._readers.event_render
      value     = google_pubsub_topic.results.id
    }
    # Each function signs with its own identity, so a leaked function cannot mint
    # URLs as another.
    SIGNED_URL_SERVICE_ACCOUNT = {
      functions = local._readers.all_functions
      value = {
        for name, account in local.runtime_accounts :
        name => var.signed_urls ? google_service_account.runtime[account].email : null
      }
    }
    SLACK_RESPONSE_URL_PREFIXES = {
      functions = local._readers.slack
      value     = var.chat.slack_response_url_prefixes == null ? null : join(",", var.chat.slack_response_url_prefixes)
    }
  }

  environment = {
    for name in keys(local.functions) : name => {
      for variable, entry in local._environment :
      variable => try(entry.value[name], entry.value)
      if contains(entry.functions, name) && try(entry.value[name], entry.value) != null
    }
  }

  # Variables the code reads from Secret Manager, with the entry points that read them.
  # var.secrets names the secret that fills each one.
  _secret_readers = {
    EE_API_KEY           = local._readers.all_functions
    HTTP_HMAC_KEYS       = local._readers.http_render
    HTTP_LINK_KEYS       = local._readers.http_render
    SLACK_SIGNING_SECRET = local._readers.slack
  }

  secret_environment = {
    for name in keys(local.functions) : name => {
      for variable, secret in var.secrets : variable => secret
      if contains(local._secret_readers[variable], name)
    }
  }
}
