# tfdoc:file:description Warnings about inputs that deploy but leave a feature broken.

# A failed check prints a warning in plan and apply, and the apply goes on. Each one
# names a setting that deploys cleanly but fails on the first request that uses it.

check "geotiff_bucket_location" {
  assert {
    # Earth Engine's Image.loadGeoTIFF reference: the bucket must be in the US
    # multi-region, a dual-region that includes US-CENTRAL1, or US-CENTRAL1. The
    # request bucket shares the functions' region, because the trigger needs it.
    condition     = var.region == "us-central1"
    error_message = "The request bucket is in ${var.region}, and Earth Engine loads GeoTIFFs only from buckets in the US multi-region, a dual-region that includes US-CENTRAL1, or US-CENTRAL1. Previews of uploaded GeoTIFFs will fail there; request files still render. Deploy in us-central1 to preview GeoTIFFs."
  }
}

check "chat_google_token_check" {
  assert {
    # A private function only lets through ID tokens for its own URL, and Cloud Run
    # replaces their signature with SIGNATURE_REMOVED_BY_GOOGLE; the code then checks
    # the claims alone (TOKENS_CHECKED_BY_CLOUD_RUN). Chat's project-number tokens are
    # not addressed to the URL, so that mode needs a public chat_google.
    # NOTE: the signature removal is Cloud Run's documented behaviour as quoted in
    # public reports; it has not been tried against a deployment of this product.
    condition     = var.chat.google_audience != "project-number" || contains(var.public_access.functions, "chat_google")
    error_message = "chat_google is private, so Cloud Run checks every token first and rejects Chat's project-number tokens. Either set chat.google_audience to \"endpoint-url\" (and the same in the Chat API configuration), or add chat_google to public_access.functions; the code checks Chat's token itself."
  }
}

check "slack_signing_secret" {
  assert {
    condition     = !contains(var.public_access.functions, "chat_slack") || contains(keys(var.secrets), "SLACK_SIGNING_SECRET")
    error_message = "chat_slack is public but secrets has no SLACK_SIGNING_SECRET, so every Slack command is rejected with SLACK_SECRET_MISSING. Store the Slack app's signing secret in Secret Manager and name it in secrets."
  }
}

check "chat_images_signed" {
  assert {
    condition     = var.signed_urls || (var.chat.google_audience == "" && !contains(var.public_access.functions, "chat_slack"))
    error_message = "The chat apps show images through signed URLs, and signed_urls is false, so they answer with the object's gs:// name instead. Set signed_urls = true."
  }
}

check "public_expression_policy" {
  assert {
    # docs/security.md: a public function renders for anyone, with the read access of
    # its service account.
    condition     = length(var.public_access.functions) == 0 || (var.expression_policy.asset_prefixes != null && var.expression_policy.source_buckets != null)
    error_message = "Public functions render any asset and any gs:// object their service account can read while expression_policy.asset_prefixes or source_buckets is null. List the assets and buckets that callers may render."
  }
}

check "public_render_http_auth" {
  assert {
    condition     = !contains(var.public_access.functions, "render_http") || !contains(var.http_security.auth_modes, "iam")
    error_message = "render_http is public while http_security.auth_modes is [\"iam\"], so nothing checks its callers. Use \"hmac\" or \"signed-link\", or remove render_http from public_access.functions."
  }
}
