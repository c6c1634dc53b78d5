# tfdoc:file:description Terraform and provider version constraints.

terraform {
  # optional() defaults in object variables need 1.3; 1.5 adds check blocks and import.
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    # The floor is the release whose schema the tests in tests/terraform/ check.
    google = {
      source  = "hashicorp/google"
      version = ">= 6.50.0, < 7.0.0"
    }
    # Service identities for Eventarc and Pub/Sub exist only in the beta provider.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.50.0, < 7.0.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.7.0, < 3.0.0"
    }
    time = {
      source  = "hashicorp/time"
      version = ">= 0.13.0, < 1.0.0"
    }
  }
}
