# tfdoc:file:description Environment variables and secrets each function reads.

locals {
  # Entry points that read a variable, as declared in eerender/config.py ENVIRONMENT.
  # tests/terraform checks these lists against the code.
  _readers = {
    all_functions = ["chat_google", "chat_slack", "render_http", "render_pubsub", "render_storage"]
    event_render  = ["render_pubsub", "render_storage"]
    http_render   = ["render_http"]
  }

  # Values Terraform sets. A function gets an entry only when it reads the variable and
  # the value is not empty, so the code's own defaults apply otherwise. A value may be
  # a map keyed by entry point when each function needs its own.
  _environment = {
    CORS_ALLOWED_ORIGINS = {
      functions = local._readers.http_render
      value     = join(",", var.cors_allowed_origins)
    }
    EE_API_URL = {
      functions = local._readers.all_functions
      value     = var.earth_engine_high_volume ? "https://earthengine-highvolume.googleapis.com" : ""
    }
    EE_PROJECT = {
      functions = local._readers.all_functions
      value     = local.earth_engine_project_id
    }
    LOG_LEVEL = {
      functions = local._readers.all_functions
      value     = var.log_level
    }
    RENDER_ALLOWED_BUCKETS = {
      functions = local._readers.all_functions
      value     = join(",", var.extra_render_buckets)
    }
    RENDER_BUCKET = {
      functions = local._readers.all_functions
      value     = google_storage_bucket.renders.name
    }
    # Topics are passed as full resource names, projects/PROJECT/topics/TOPIC, which is
    # the form the Pub/Sub REST publish call takes.
    REQUEST_TOPIC = {
      functions = local._readers.http_render
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
        name => var.signed_urls ? google_service_account.runtime[account].email : ""
      }
    }
  }

  environment = {
    for name in keys(local.functions) : name => {
      for variable, entry in local._environment :
      variable => try(entry.value[name], entry.value)
      if contains(entry.functions, name) && try(entry.value[name], entry.value) != ""
    }
  }

  # Variables the code reads from Secret Manager, with the entry points that read them.
  # var.secrets names the secret that fills each one.
  _secret_readers = {
    EE_API_KEY = local._readers.all_functions
  }

  secret_environment = {
    for name in keys(local.functions) : name => {
      for variable, secret in var.secrets : variable => secret
      if contains(local._secret_readers[variable], name)
    }
  }
}
