# tfdoc:file:description Source archive and one Cloud Function (2nd gen) per entry point.

locals {
  source_root = abspath("${path.module}/..")

  # Everything except the function code, recipes and requirements.txt. The runtime
  # installs requirements.txt itself during the build.
  source_excludes = [
    ".cache/**", ".checkov.yaml", ".ci/**", ".git/**", ".gitignore", ".mypy_cache/**",
    ".pytest_cache/**", ".ruff_cache/**", ".venv/**", "**/__pycache__/**", "**/*.pyc",
    "bench/**", "data/**", "docs/**", "local/**", "out/**", "recipes-tests/**",
    "requirements-dev.txt", "standin/**", "terraform/**", "tests/**",
  ]

  function_names = { for name in keys(local.functions) : name => "${var.name_prefix}-${replace(name, "_", "-")}" }

  # Cloud Run gives each service the deterministic URL
  # https://SERVICE-PROJECT_NUMBER.REGION.run.app (Cloud Run, "HTTPS request" docs),
  # which is known before the service exists. A function can therefore be told its own
  # URL (PUSH_AUDIENCE, CHAT_AUDIENCE) without a dependency cycle, and Cloud Run
  # accepts it as the audience of an ID token. Cloud Run assigns it only while
  # SERVICE-PROJECT_NUMBER fits one 63-character DNS label, which the 14-character
  # limit of name_prefix keeps.
  run_urls = {
    for name, function_name in local.function_names :
    name => "https://${function_name}-${data.google_project.main.number}.${var.region}.run.app"
  }
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = local.source_root
  excludes    = local.source_excludes
  output_path = "${path.module}/.terraform/function-source.zip"
}

# The object name carries the archive's hash: a code change gives a new name, which
# redeploys every function, and an unchanged tree keeps the name and plans no change.
resource "google_storage_bucket_object" "source" {
  bucket       = google_storage_bucket.source.name
  name         = "functions/${data.archive_file.source.output_md5}.zip"
  source       = data.archive_file.source.output_path
  content_type = "application/zip"
}

resource "google_cloudfunctions2_function" "main" {
  for_each    = local.functions
  project     = var.project_id
  location    = var.region
  name        = local.function_names[each.key]
  description = each.value.description
  labels      = var.labels

  # TODO: builds run as the project's default build service account, which projects
  # whose organization blocks default grants leave without rights. A dedicated account
  # in build_config.service_account, with log, Artifact Registry and source bucket
  # grants, ends that dependence.
  build_config {
    runtime     = var.runtime
    entry_point = each.key
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_cpu                    = tostring(var.functions[each.key].cpu)
    available_memory                 = var.functions[each.key].memory
    timeout_seconds                  = var.functions[each.key].timeout_seconds
    max_instance_request_concurrency = var.functions[each.key].concurrency
    min_instance_count               = var.functions[each.key].min_instances
    max_instance_count               = var.functions[each.key].max_instances
    service_account_email            = google_service_account.runtime[local.runtime_accounts[each.key]].email
    environment_variables            = local.environment[each.key]
    all_traffic_on_latest_revision   = true
    # Pub/Sub pushes and Eventarc deliveries count as internal traffic, so only the
    # HTTP functions need to be reachable from outside the project.
    ingress_settings = each.value.trigger == "http" ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"

    dynamic "secret_environment_variables" {
      for_each = local.secret_environment[each.key]
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  dynamic "event_trigger" {
    for_each = each.value.trigger == "storage" ? [google_storage_bucket.requests.name] : []
    content {
      event_type            = "google.cloud.storage.object.v1.finalized"
      trigger_region        = var.region
      service_account_email = google_service_account.trigger.email
      # A failed render is delivered again with backoff for up to 24 hours, so a
      # transient Earth Engine error does not lose the request.
      retry_policy = "RETRY_POLICY_RETRY"
      event_filters {
        attribute = "bucket"
        value     = event_trigger.value
      }
    }
  }

  lifecycle {
    # Signed webhooks and links carry no Google ID token, so Cloud Run has to let every
    # caller through to the code that checks their signatures.
    precondition {
      condition     = contains(var.http_security.auth_modes, "iam") || contains(var.public_access.functions, "render_http")
      error_message = "http_security.auth_modes without \"iam\" needs render_http in public_access.functions, because signed callers send no Google ID token for Cloud Run to check."
    }
    precondition {
      condition     = !contains(var.http_security.auth_modes, "hmac") || contains(keys(var.secrets), "HTTP_HMAC_KEYS")
      error_message = "http_security.auth_modes includes \"hmac\" but secrets has no HTTP_HMAC_KEYS; name the Secret Manager secret that holds the webhook keys."
    }
    precondition {
      condition     = !contains(var.http_security.auth_modes, "signed-link") || contains(keys(var.secrets), "HTTP_LINK_KEYS")
      error_message = "http_security.auth_modes includes \"signed-link\" but secrets has no HTTP_LINK_KEYS; name the Secret Manager secret that holds the link keys."
    }
  }

  # Names are fixed, so a replacement cannot create the new function before deleting
  # the old one. Queued Pub/Sub requests survive it in the subscription above; uploaded
  # requests survive it as objects in the request bucket.
  depends_on = [
    google_project_iam_member.earth_engine,
    google_project_iam_member.trigger_event_receiver,
    google_secret_manager_secret_iam_member.runtime,
    time_sleep.service_agent_grants,
  ]
}
