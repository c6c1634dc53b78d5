# tfdoc:file:description Buckets for function source, uploaded requests and renders.

locals {
  buckets = {
    renders  = "${var.project_id}-${var.name_prefix}-renders"
    requests = "${var.project_id}-${var.name_prefix}-requests"
    source   = "${var.project_id}-${var.name_prefix}-source"
  }
}

# Renders and requests live in separate buckets so that a render written by
# render_storage can never trigger render_storage again.
resource "google_storage_bucket" "renders" {
  #checkov:skip=CKV_GCP_62:Access logs would need a further bucket per deployment; Cloud Audit Logs data access logging covers reads when required.
  #checkov:skip=CKV_GCP_78:Renders are reproducible from their request and deleted after render_retention_days; old versions would only add cost.
  project                     = var.project_id
  name                        = local.buckets.renders
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  lifecycle_rule {
    condition {
      age = var.render_retention_days
    }
    action {
      type = "Delete"
    }
  }

  # Chat command and reply claims matter for COMMAND_REPEAT_SECONDS and one result
  # delivery, so they are deleted after a day, the shortest age a rule can give.
  lifecycle_rule {
    condition {
      age            = 1
      matches_prefix = [local.chat_claims_prefix]
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [time_sleep.services]
}

resource "google_storage_bucket" "requests" {
  #checkov:skip=CKV_GCP_62:Access logs would need a further bucket per deployment; Cloud Audit Logs data access logging covers reads when required.
  project                     = var.project_id
  name                        = local.buckets.requests
  # The storage trigger only sees buckets in the function's region.
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  # Versions keep an overwritten request, so a render that failed after its retries
  # can be replayed from the exact bytes that were uploaded.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = var.request_retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.request_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [time_sleep.services]
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Access logs would need a further bucket per deployment; only Terraform and Cloud Build read this bucket.
  project                     = var.project_id
  name                        = local.buckets.source
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  versioning {
    enabled = true
  }

  # Each code change uploads a new content-hashed archive, so old ones pile up. If the
  # current archive is deleted too, the next plan uploads it again under the same name,
  # which leaves the functions unchanged.
  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [time_sleep.services]
}
