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
